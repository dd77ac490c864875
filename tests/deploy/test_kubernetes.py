"""deploy/kubernetes cannot drift from the CLI: run each pod's command natively.

There is no cluster here, so the test reads the Job and the Secret with PyYAML,
builds the command each index's pod would run (``$(VAR)`` expanded as the
kubelet expands it, the Secret's keys mapped to a ``bulkpin serve`` account's
profile values, mount paths mapped to temporary directories), runs every
shard against ``bulkpin serve``, and checks the shards together pinned the
tree once and merge to ``bulkpin cid -r``'s root. Then it does what a node
drain and an OOM kill do to a pod, and runs those shards again as their
retries would: a new pod, an empty journal.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkpin.client.credentials import (
    ENV_API_KEY,
    ENV_CLOUD_URL,
    ENV_ENDPOINT,
    ENV_PRIVATE_KEY,
    read_profile,
)
from tests.deploy.native import (
    ROOT,
    base_env,
    check_pinned,
    check_shards,
    cid_tree,
    make_tree,
    merged_root,
    native,
)
from tests.support.push import all_jobs, manifest, pin_file_requests
from tests.support.service import ServiceProcess, wait_for

KUBE = ROOT / "deploy" / "kubernetes"
JOB = yaml.safe_load((KUBE / "bulkpin-push.yaml").read_text())
SECRET = yaml.safe_load((KUBE / "secret.example.yaml").read_text())
POD = JOB["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]

#: The client's variables, and the profile field each stands for.
PROFILE_FIELDS = {ENV_API_KEY: "api_key", ENV_PRIVATE_KEY: "private_key",
                  ENV_CLOUD_URL: "cloud_url", ENV_ENDPOINT: "endpoint"}
INDEX_ANNOTATION = "metadata.annotations['batch.kubernetes.io/job-completion-index']"


def _shards() -> int:
    shard = CONTAINER["command"][CONTAINER["command"].index("--shard") + 1]
    return int(shard.rsplit("/", 1)[1])


def _mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity)
    assert match, quantity
    return int(match[1]) * units[match[2]]


def test_job_shape() -> None:
    spec = JOB["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == _shards(), "completions and --shard .../N disagree"
    assert 1 <= spec["parallelism"] <= spec["completions"]
    assert spec["backoffLimitPerIndex"] >= 1
    assert POD["restartPolicy"] == "Never"  # what backoffLimitPerIndex requires
    # Exit 2 (usage, credentials) fails the index at once; 1 and 3 are retried.
    (fail_index,) = [r for r in spec["podFailurePolicy"]["rules"] if r["action"] == "FailIndex"]
    assert fail_index["onExitCodes"]["values"] == [2]
    assert fail_index["onExitCodes"]["containerName"] == CONTAINER["name"]
    mounts = {m["mountPath"]: m for m in CONTAINER["volumeMounts"]}
    volumes = {v["name"]: v for v in POD["volumes"]}
    assert "emptyDir" in volumes[mounts["/journal"]["name"]]
    assert mounts["/data"]["readOnly"] is True
    assert "fsGroup" not in POD.get("securityContext", {})  # see the comment in the Job


def test_resources_fit_the_benchmarks() -> None:
    # The measured client peak RSS: the request must hold it, the limit twice it.
    readme = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    peaks = [float(m) for m in re.findall(r"\| push \| W\d [^|]*peak RSS[^|]*\| ([\d.]+) MiB",
                                          readme)]
    assert peaks, "benchmarks/RESULTS.md has no push peak RSS"
    resources = CONTAINER["resources"]
    assert _mib(resources["requests"]["memory"]) >= max(peaks)
    assert _mib(resources["limits"]["memory"]) >= 2 * max(peaks)
    # The grace period outlasts one stalled request (push's default --timeout, 120 s).
    assert POD["terminationGracePeriodSeconds"] > 120


def test_secret_keys_feed_the_clients_variables() -> None:
    stored = SECRET["stringData"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in CONTAINER["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert set(refs) <= set(PROFILE_FIELDS)
    assert {ENV_API_KEY, ENV_PRIVATE_KEY} <= set(refs)  # what a real Decoo account needs
    for name, ref in refs.items():
        assert ref["name"] == SECRET["metadata"]["name"]
        assert ref["key"] in stored or ref.get("optional"), name


def _pod_env(index: int, profile: dict[str, str]) -> dict[str, str]:
    """The container's environment, as the kubelet builds it for pod ``index``."""
    env: dict[str, str] = {}
    for entry in CONTAINER["env"]:
        source = entry.get("valueFrom", {})
        if "value" in entry:
            env[entry["name"]] = entry["value"]
        elif source.get("fieldRef", {}).get("fieldPath") == INDEX_ANNOTATION:
            env[entry["name"]] = str(index)
        elif "secretKeyRef" in source:
            value = profile.get(PROFILE_FIELDS[entry["name"]])
            if value is not None:
                env[entry["name"]] = value
            else:
                assert source["secretKeyRef"].get("optional"), entry
        else:
            raise AssertionError(f"an env entry the test cannot map: {entry}")
    # The Job controller adds it to every container (the Job declares it as well).
    env.setdefault("JOB_COMPLETION_INDEX", str(index))
    return env


def _expand(arg: str, env: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        assert match[1] in env, f"$({match[1]}) is not in the container's environment"
        return env[match[1]]
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, arg)


@dataclass
class Pod:
    """One pod's container process."""

    number: int
    process: subprocess.Popen[str]
    stderr_path: Path

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]


@dataclass
class Cluster:
    """A stand-in for the cluster: the service, the tree on /data, /out shared by pods."""

    service: ServiceProcess
    tmp_path: Path
    tree: Path
    contents: dict[bytes, bytes]
    out: Path
    pods: int = 0

    def pod(self, index: int) -> Pod:
        """Start pod ``index`` (a new pod: a new emptyDir for /journal)."""
        self.pods += 1
        journal = self.tmp_path / f"pod-{self.pods}-journal"
        journal.mkdir()
        volumes = {"/data": self.tree, "/out": self.out, "/journal": journal}
        pod_env = _pod_env(index, read_profile(self.service.profile_path))
        args = [_expand(a, pod_env) for a in [*CONTAINER["command"], *CONTAINER.get("args", [])]]
        stderr_path = self.tmp_path / f"pod-{self.pods}.stderr"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                native(args, volumes), env={**base_env(self.tmp_path), **pod_env},
                stdout=subprocess.DEVNULL, stderr=stderr, text=True,
            )
        return Pod(self.pods, process, stderr_path)

    def run_all(self, indexes: list[int]) -> None:
        """Run the indexes ``parallelism`` at a time; each must exit 0."""
        parallelism = JOB["spec"]["parallelism"]
        for start in range(0, len(indexes), parallelism):
            batch = [self.pod(i) for i in indexes[start : start + parallelism]]
            for pod in batch:
                assert pod.wait(timeout=300) == 0, pod.stderr()

    def manifests(self) -> list[Path]:
        return [self.out / f"manifest-{i}.jsonl" for i in range(JOB["spec"]["completions"])]


@contextmanager
def _cluster(tmp_path: Path, delay: str) -> Iterator[Cluster]:
    with ServiceProcess(tmp_path / "service", "--job-delay", delay).start() as svc:
        tree = tmp_path / "data"
        contents = make_tree(tree)
        out = tmp_path / "out"
        out.mkdir()
        yield Cluster(svc, tmp_path, tree, contents, out)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with _cluster(tmp_path, "0.05") as made:
        yield made


def test_every_index_runs_natively(cluster: Cluster) -> None:
    expected, root = cid_tree(cluster.tree)
    cluster.run_all(list(range(JOB["spec"]["completions"])))
    check_shards(cluster.manifests(), expected)
    check_pinned(cluster.service, expected)
    stats = cluster.service.stats()
    assert stats["duplicate_jobs"] == 0
    assert stats["pins"] == len(set(expected.values()))
    assert merged_root(cluster.manifests(), cluster.tmp_path / "manifest.jsonl") == root


@dataclass
class Disrupted:
    """What the account held when the pods were stopped, and what the retries then sent."""

    expected: dict[bytes, str]
    root: str
    held_at_stop: set[str]
    bytes_before_retries: int
    stats_after: dict[str, Any]
    #: Contents of the files of the stopped (and retried) shards, by display path.
    retried_files: dict[bytes, bytes]


def _started(cluster: Cluster, index: int) -> Pod:
    """Pod ``index``, once the service has had an upload from it, still running."""
    before = pin_file_requests(cluster.service)
    pod = cluster.pod(index)
    wait_for(lambda: pin_file_requests(cluster.service) > before or pod.process.poll() is not None,
             timeout=120)
    assert pod.process.poll() is None, f"pod {index} ended before it was stopped"
    return pod


def _disrupt(cluster: Cluster) -> Disrupted:
    """Run the Job; SIGTERM pod 2 and SIGKILL pod 1 mid-run; retry both with empty journals."""
    expected, root = cid_tree(cluster.tree)
    count = JOB["spec"]["completions"]
    cluster.run_all([i for i in range(count) if i not in (1, 2)])
    # One pod at a time, so the uploads seen are that pod's: it is past its start-up
    # (signal handling in place) and mid-run (jobs take a second to pin) when stopped.
    terminated = _started(cluster, 2)
    terminated.process.send_signal(signal.SIGTERM)  # a node drain: SIGTERM, then the grace
    # Stops cleanly within the grace period: in-flight uploads finish, exit 3.
    assert terminated.wait(timeout=POD["terminationGracePeriodSeconds"]) == 3, \
        terminated.stderr()
    killed = _started(cluster, 1)
    killed.process.kill()  # past the grace period, or the OOM killer: SIGKILL
    assert killed.wait(timeout=60) == -signal.SIGKILL
    assert not (cluster.out / "manifest-1.jsonl").exists()  # killed before its end
    held = {job["PinHash"] for job in all_jobs(cluster.service)}
    bytes_before = cluster.service.stats()["bytes_received"]
    cluster.run_all([1, 2])  # the retries: new pods, empty journals
    check_shards(cluster.manifests(), expected)
    retried = {os.fsencode(row["path"]): cluster.contents[os.fsencode(row["path"])]
               for i in (1, 2) for row in manifest(cluster.out / f"manifest-{i}.jsonl")
               if row["kind"] == "file"}
    return Disrupted(expected, root, held, bytes_before, cluster.service.stats(), retried)


@pytest.fixture(scope="module")
def disrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Disrupted]]:
    """One disrupted Job for the tests below (each asserts its own part of it).

    Slow jobs (a second to pinned), so a pod is still running after its uploads
    when it is stopped.
    """
    with _cluster(tmp_path_factory.mktemp("disrupted"), "1.0") as cluster:
        yield cluster, _disrupt(cluster)


def test_stopped_pods_rerun_with_an_empty_journal(disrupted: tuple[Cluster, Disrupted]) -> None:
    cluster, outcome = disrupted
    check_pinned(cluster.service, outcome.expected)
    assert outcome.retried_files, "the stopped shards had no files"
    assert merged_root(cluster.manifests(), cluster.tmp_path / "manifest.jsonl") == outcome.root


def test_rerun_sends_nothing_the_account_already_holds(
    disrupted: tuple[Cluster, Disrupted],
) -> None:
    _, outcome = disrupted
    # Only files with no job at the stop may be sent again (with a little multipart
    # framing each); the rest are on the account, and no CID gets a second job.
    unsent = [len(data) for path, data in outcome.retried_files.items()
              if outcome.expected[path] not in outcome.held_at_stop]
    sent = outcome.stats_after["bytes_received"] - outcome.bytes_before_retries
    assert sent <= sum(unsent) + 8192 * len(unsent)
    assert outcome.stats_after["duplicate_jobs"] == 0
