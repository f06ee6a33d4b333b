"""A real Kubernetes control plane as local processes, for tests and the demo.

``assets`` finds or builds the binaries (kube-apiserver, kube-controller-manager,
kubectl, etcd, helm) from Go modules; ``cluster`` runs them the way
controller-runtime's envtest does; ``podrunner`` stands in for the kubelet.
"""
