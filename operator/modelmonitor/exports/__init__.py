"""Where a monitor's results go besides its status: other tools' formats (TensorBoard's event files)."""
