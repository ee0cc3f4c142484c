"""The plan exported as the manifests a team commits (``underlay export``).

Each target (Cluster API with Metal3, KubeVirt or vSphere machines; Karpenter; plain
Kubernetes objects for clusters that exist) turns one placed substrate of a scenario into
:class:`~underlay.export.manifest.Manifest` objects; every number in them names the figure
underlay used (:class:`~underlay.export.manifest.FieldSource`).
"""
