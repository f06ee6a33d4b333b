"""Alert rules, the Grafana dashboard and their runbooks, generated from code into the chart, manifests and docs."""
