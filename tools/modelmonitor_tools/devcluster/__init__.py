"""A real Kubernetes control plane as local processes, for tests and the demo.

``assets`` finds or builds the binaries (kube-apiserver, kube-controller-manager,
kubectl, etcd, helm, Argo Rollouts' controller) from Go modules; ``crds`` fetches other
projects' CRDs; ``cluster`` runs the control plane the way controller-runtime's envtest
does; ``podrunner`` stands in for the kubelet; ``python -m modelmonitor_tools.devcluster``
builds or finds them all.
"""
