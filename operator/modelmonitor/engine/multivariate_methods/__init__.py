"""The multivariate drift methods, one module each; ``engine.multivariate`` defines and loads them."""
