"""The plan exported as the manifests a team commits (``underlay export``).

Each target (Cluster API with Metal3, KubeVirt or vSphere machines; Karpenter; plain
Kubernetes objects for clusters that exist) turns one placed substrate of a scenario into
:class:`~underlay.export.manifest.Manifest` objects; every number in them names the figure
underlay used (:class:`~underlay.export.manifest.FieldSource`).

Its modules: ``manifest`` (the types every target shares), ``clusters`` (the per-cluster
facts of a placement: versions, control planes, worker pools, kubelet configuration),
``kubelet`` (that configuration as kubeadm arguments), ``names`` (object names and
quantities), ``capi`` and ``capi_infra`` (the Cluster API targets and their Metal3,
KubeVirt and vSphere machines), ``targets`` (the registry, ``TARGETS``), ``writer`` (the
commented YAML files, in a folder written whole or not at all).
"""
