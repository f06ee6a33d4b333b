module modelmonitor.io/benchmarks/loadgen

go 1.22
