"""`underlay import kubectl` on every dump layout: each gives the scenario of the `List`
fixture (tests/fixtures/kubectl/{nodes,pods}.json), which is the reference.

tests/fixtures/kubectl/layouts/ holds the same objects as a bare array without kinds
(`array/`), YAML (`yaml/`: a NodeList and one document per pod) and a must-gather tree
(`must-gather/`: one file per node, a PodList per namespace, one pod again on its own,
Namespace objects labelled `team`, PodDisruptionBudgets, events and logs to ignore).
Sonobuoy results tarballs and zips are built by the tests from the fixture objects.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from underlay.cli import app
from underlay.errors import TraceError
from underlay.importers.kubectl import import_kubectl
from underlay.importers.kubectl.archives import Limits
from underlay.importers.kubectl.layouts import read_dump

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubectl"
LAYOUTS = FIXTURES / "layouts"
SONOBUOY = Path(__file__).resolve().parents[3] / "shared" / "data" / "kubectl" / "sonobuoy-2017-aws"
runner = CliRunner()


def body(text: str) -> Any:
    """The scenario without its header comments and name: what the layouts must agree on."""
    data = yaml.safe_load(text)
    data.pop("name")
    return data


REFERENCE = body(import_kubectl(FIXTURES / "nodes.json", FIXTURES / "pods.json").text)
NODES = json.loads((FIXTURES / "nodes.json").read_text())["items"]
PODS = json.loads((FIXTURES / "pods.json").read_text())["items"]


def without_kind(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def sonobuoy_tree() -> dict[str, bytes]:
    """The fixture as sonobuoy lays it out: resources/cluster/Nodes.json and
    resources/ns/<ns>/Pods.json (arrays, items without kind), the server version, and
    files of other kinds that must be ignored."""
    files: dict[str, bytes] = {
        "resources/cluster/Nodes.json": json.dumps([without_kind(n) for n in NODES]).encode(),
        "serverversion.json": json.dumps(
            {"major": "1", "minor": "27", "gitVersion": "v1.27.3"}
        ).encode(),
        "meta/config.json": json.dumps({"UUID": "x", "Resources": ["Pods"]}).encode(),
        "hosts/node-a/configz.json": b'{"kubeletconfig": {"maxPods": 58}}',
        "podlogs/shop/web/web.log": b"log line\n",
        "plugins/e2e/results/global/junit_01.xml": b"<testsuites/>",
    }
    by_namespace: dict[str, list[Any]] = {}
    for pod in PODS:
        by_namespace.setdefault(pod["metadata"]["namespace"], []).append(without_kind(pod))
    for namespace, pods in by_namespace.items():
        files[f"resources/ns/{namespace}/Pods.json"] = json.dumps(pods).encode()
    return files


def write_tar(path: Path, files: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def cli(*args: str) -> Any:
    return runner.invoke(app, ["import", "kubectl", *args])


@pytest.mark.parametrize(
    ("nodes", "pods"),
    [
        (LAYOUTS / "array" / "nodes.json", LAYOUTS / "array" / "pods.json"),
        (LAYOUTS / "yaml" / "nodes.yaml", LAYOUTS / "yaml" / "pods.yaml"),
        (LAYOUTS / "array" / "nodes.json", LAYOUTS / "yaml" / "pods.yaml"),
        (LAYOUTS / "must-gather", None),
        (
            LAYOUTS / "must-gather" / "cluster-scoped-resources",
            LAYOUTS / "must-gather" / "namespaces",
        ),
    ],
    ids=["array", "yaml", "mixed", "must-gather", "must-gather-parts"],
)
def test_file_and_folder_layouts_give_the_reference(nodes: Path, pods: Path | None) -> None:
    result = import_kubectl(nodes, pods)
    data = body(result.text)
    if "must-gather" in nodes.parts:
        # the tree also has the shop PDBs: web minAvailable 2; db maxUnavailable 50% of
        # 2 replicas = 1 (rounded up); everything else is the reference's
        workloads = {w["name"]: w for t in data["tenants"] for w in t["workloads"]}
        assert workloads["web"].pop("disruption_budget") == {"min_available": 2}
        assert workloads["db"].pop("disruption_budget") == {"max_unavailable": 1}
        assert "objects found twice in the tree, read once: 1" in result.text
    assert data == REFERENCE


@pytest.mark.parametrize(
    "kind", ["tar.gz", "tgz-named-zip", "tar.bz2", "tar.xz", "tar", "zip", "folder"]
)
def test_sonobuoy_results_in_every_container(tmp_path: Path, kind: str) -> None:
    files = sonobuoy_tree()
    if kind == "folder":
        path = write_folder(tmp_path / "results", files)
    elif kind == "zip":
        path = write_zip(tmp_path / "results.zip", files)
    elif kind == "tgz-named-zip":  # recognised by its bytes, not its name
        path = write_tar(tmp_path / "results.zip", files)
    else:
        mode = {"tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz", "tar": "w"}[kind]
        path = write_tar(tmp_path / f"202612030400_sonobuoy_x.{kind}", files, mode)
    out = tmp_path / "out" / "sono.yaml"
    out.parent.mkdir()
    result = cli("--nodes", str(path), "-o", str(out))  # --pods defaults to the same archive
    assert result.exit_code == 0, result.output
    text = out.read_text()
    data = body(text)
    # serverversion.json wins over the kubelets' version (the fixture's nodes say 1.29)
    assert {t["kubernetes_version"] for t in data["tenants"]} == {"1.27"}
    assert "# Server version v1.27.3 (sonobuoy serverversion.json)." in text
    for tenant in data["tenants"]:
        tenant["kubernetes_version"] = REFERENCE["tenants"][0]["kubernetes_version"]
    assert data == REFERENCE


def test_compressed_single_file(tmp_path: Path) -> None:
    import gzip

    nodes = tmp_path / "nodes.json.gz"
    nodes.write_bytes(gzip.compress((FIXTURES / "nodes.json").read_bytes()))
    assert body(import_kubectl(nodes, FIXTURES / "pods.json").text) == REFERENCE


def test_real_sonobuoy_folder_and_its_tarball(tmp_path: Path) -> None:
    if not SONOBUOY.is_dir():
        pytest.skip(f"real data not present: {SONOBUOY} (see ../shared/data/README.md)")
    from_files = body(import_kubectl(SONOBUOY / "nodes.json", SONOBUOY / "pods.json").text)
    assert body(import_kubectl(SONOBUOY).text) == from_files  # the folder holds both
    archive = tmp_path / "sono.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(SONOBUOY, arcname="dump")
    assert body(import_kubectl(archive).text) == from_files
    # Kubernetes v1.8.4: 3 nodes, 20 pods; the one application pod is the only workload
    assert [t["kubernetes_version"] for t in from_files["tenants"]] == ["1.8"]


# ------------------------------------------------------------------ guards


def test_path_traversal_refuses_the_archive(tmp_path: Path) -> None:
    files = sonobuoy_tree() | {"../../etc/evil.json": b"{}"}
    path = write_tar(tmp_path / "evil.tar.gz", files)
    with pytest.raises(
        TraceError, match=r"member '../../etc/evil.json' points outside the archive"
    ):
        import_kubectl(path)


def test_absolute_member_refuses_the_zip(tmp_path: Path) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("/abs/nodes.json")
        archive.writestr(info, "{}")
    with pytest.raises(TraceError, match="path traversal"):
        import_kubectl(path)


def test_links_are_not_followed(tmp_path: Path) -> None:
    outside = write_folder(
        tmp_path / "outside", {"nodes.json": (FIXTURES / "nodes.json").read_bytes()}
    )
    tree = write_folder(tmp_path / "tree", {"pods.json": (FIXTURES / "pods.json").read_bytes()})
    os.symlink(outside / "nodes.json", tree / "nodes.json")
    os.symlink(outside, tree / "more")
    with pytest.raises(TraceError) as info:
        import_kubectl(tree)
    message = str(info.value)
    assert "found no Node objects in this folder" in message
    assert "2 links not followed" in message  # the file link and the folder link
    # the same in a tar: a symlink member is skipped
    archive = tmp_path / "links.tar"
    with tarfile.open(archive, "w") as tar:
        link = tarfile.TarInfo("nodes.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(TraceError, match="1 links not followed"):
        import_kubectl(archive)


def test_size_limits(tmp_path: Path) -> None:
    path = write_tar(tmp_path / "results.tar.gz", sonobuoy_tree())
    biggest = max(len(v) for k, v in sonobuoy_tree().items() if k.endswith(".json"))
    with pytest.raises(TraceError, match="more than the 100 a dump file may have"):
        read_dump(path, "Node", limits=Limits(file_bytes=100))
    with pytest.raises(TraceError, match="more than 1,000 bytes of JSON and YAML"):
        read_dump(path, "Node", limits=Limits(file_bytes=biggest, total_bytes=1_000))
    with pytest.raises(TraceError, match="more than 3 entries"):
        read_dump(path, "Node", limits=Limits(entries=3))


def test_compression_bomb_stops_at_the_file_limit(tmp_path: Path) -> None:
    import gzip

    bomb = tmp_path / "nodes.json.gz"
    bomb.write_bytes(gzip.compress(b" " * 5_000_000))  # 5 MB of spaces, ~5 kB compressed
    with pytest.raises(TraceError, match="more than the 1,048,576 a dump file may have"):
        read_dump(bomb, "Node", limits=Limits(file_bytes=1 << 20))


def test_truncated_archive(tmp_path: Path) -> None:
    whole = write_tar(tmp_path / "whole.tar.gz", sonobuoy_tree()).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(TraceError, match="the archive is truncated or damaged"):
        import_kubectl(cut)


def test_unrecognised_folder_says_what_to_give(tmp_path: Path) -> None:
    tree = write_folder(
        tmp_path / "dump",
        {
            "services.json": json.dumps({"kind": "List", "items": [{"kind": "Service"}]}).encode(),
            "notes.txt": b"hello",
        },
    )
    result = cli("--nodes", str(tree), "-o", str(tmp_path / "out.yaml"))
    assert result.exit_code == 2
    message = result.stderr
    assert message.count("Error:") == 1
    for fragment in (
        f"{tree}: found no Node objects in this folder",
        f"1 JSON/YAML files read, the first {tree / 'services.json'}, 1 other files skipped",
        "kinds seen: Service (1)",
        "the layout is not recognised",
        "`kubectl get nodes -o json`",
        "sonobuoy's results tarball",
    ):
        assert fragment in message, message
    assert not (tmp_path / "out.yaml").exists()


def test_broken_file_in_a_tree(tmp_path: Path) -> None:
    # named after a wanted kind: an error naming the file inside the archive
    files = sonobuoy_tree() | {"resources/ns/shop/Pods.json": b'[{"metadata": '}
    path = write_tar(tmp_path / "r.tar.gz", files)
    with pytest.raises(
        TraceError, match=r"r.tar.gz/resources/ns/shop/Pods.json, line 1, column 15: not JSON"
    ):
        import_kubectl(path)
    # any other broken file is skipped and noted
    files = sonobuoy_tree() | {"plugins/x/results.json": b"{broken"}
    result = import_kubectl(write_tar(tmp_path / "ok.tar.gz", files))
    assert "skipped" in result.text and "plugins/x/results.json" in result.text


def test_yaml_aliases_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "nodes.yaml"
    bomb.write_text("a: &a [1, 2]\nb: [*a, *a]\n")
    with pytest.raises(TraceError, match=r"nodes.yaml, line 2, column 5: .*an alias"):
        import_kubectl(bomb, FIXTURES / "pods.json")


def test_pods_needed_with_a_single_nodes_file(tmp_path: Path) -> None:
    result = cli("--nodes", str(FIXTURES / "nodes.json"))
    assert result.exit_code == 2
    assert "--pods: missing" in result.stderr


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(str.encode),
        st.sampled_from(list(sonobuoy_tree().values())).map(lambda b: b[: len(b) // 3]),
    ),
    wrap=st.sampled_from(["plain", "gzip", "tar", "zip"]),
)
@example(data=b"\x1f\x8b", wrap="plain")  # a gzip magic and nothing more
@example(data=b"- &a [1]\n- *a\n", wrap="plain")
def test_any_bytes_in_any_wrapping_never_crash(tmp_path: Path, data: bytes, wrap: str) -> None:
    import gzip

    path = tmp_path / "dump"
    if wrap == "plain":
        path.write_bytes(data)
    elif wrap == "gzip":
        path.write_bytes(gzip.compress(data))
    elif wrap == "tar":
        write_tar(path, {"resources/cluster/Nodes.json": data})
    else:
        write_zip(path, {"nodes/n.yaml": data})
    try:
        dump = read_dump(path, "Node")
        dump.require("Node", "--nodes")
    except TraceError:
        pass  # a clear message is the only other outcome


def test_encrypted_zip_member_is_a_clear_error(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "locked.zip", {"nodes.json": (FIXTURES / "nodes.json").read_bytes()}
    )
    data = bytearray(path.read_bytes())
    data[6] |= 1  # the "encrypted" flag of the local header...
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1  # ...and of the central directory
    path.write_bytes(bytes(data))
    with pytest.raises(TraceError, match=r"locked.zip/nodes.json: cannot be read from this zip"):
        import_kubectl(path)


def test_must_gather_namespaces_folder_names_no_kind(tmp_path: Path) -> None:
    # namespaces/<ns>/ holds every kind: a kindless object or a broken file there is
    # not a Namespace (nor an error), only a file named after a kind is
    tree = write_folder(
        tmp_path / "mg",
        {
            "nodes.json": (FIXTURES / "nodes.json").read_bytes(),
            "namespaces/shop/core/pods.json": (FIXTURES / "pods.json").read_bytes(),
            "namespaces/shop/core/configmaps.yaml": b"items:\n- metadata: {name: cm}\n",
            "namespaces/shop/apps/broken.yaml": b"{ not: [yaml\n",
        },
    )
    dump = read_dump(tree, "Node")
    assert dump.of("Namespace") == []
    assert len(dump.of("Pod")) == len(PODS)
    assert any("broken.yaml" in note for note in dump.notes)


def test_one_file_of_several_kinds(tmp_path: Path) -> None:
    # `kubectl get nodes,pods,pdb,svc -A -o json`: one file holds it all
    pdb = {
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}},
    }
    service = {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"}}
    everything = tmp_path / "all.json"
    everything.write_text(json.dumps({"kind": "List", "items": [*NODES, *PODS, pdb, service]}))
    result = import_kubectl(everything)  # --pods defaults to the same file
    data = body(result.text)
    workloads = {w["name"]: w for t in data["tenants"] for w in t["workloads"]}
    assert workloads["web"].pop("disruption_budget") == {"max_unavailable": 1}
    assert data == REFERENCE
    assert "objects of other kinds, ignored: Service (1)" in result.text
