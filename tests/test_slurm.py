"""The tiny grid on a real single-node SLURM cluster (slurm-wlm + munge, started here as root).

The cluster lives in a temp dir: its own slurm.conf (client commands find it through
SLURM_CONF), state, logs and ports. slurmd runs "configless" (it fetches the
configuration from slurmctld and caches it under /run/slurm/conf), because the
Snakemake job step inside each job calls `srun` with the SLURM_* variables
removed, so it can only find the configuration there. A stand-in GPU
(gres.conf: Name=gpu File=/dev/null) lets jobs request and be given one, or shards of it (4:
Name=shard Count=4, SLURM GPU sharding).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from gangrid.config import iter_runs, load_params
from pipeline_repo import make_repo, sh, tiny_grid

pytestmark = [pytest.mark.pipeline, pytest.mark.slow, pytest.mark.timeout(900)]

BINARIES = ["munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "scontrol", "sinfo"]
RUN_CONF = Path("/run/slurm/conf")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def slurm_conf(root: Path, ctld_port: int, d_port: int, memory_mb: int) -> str:
    """A minimal single-node slurm.conf: no accounting, cores as the consumable, one stand-in GPU in 4 shards."""
    return "\n".join([
        "ClusterName=gangridtest",
        "SlurmctldHost=localhost",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={d_port}",
        "SlurmUser=root",
        "SlurmctldParameters=enable_configless",
        "AuthType=auth/munge",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "MpiDefault=none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/none",
        "ReturnToService=2",
        "MinJobAge=300",  # squeue status queries need finished jobs kept >= 3 x the first check delay
        f"StateSaveLocation={root}/spool/ctld",
        f"SlurmdSpoolDir={root}/spool/d",
        f"SlurmctldPidFile={root}/run/slurmctld.pid",
        f"SlurmdPidFile={root}/run/slurmd.pid",
        f"SlurmctldLogFile={root}/log/slurmctld.log",
        f"SlurmdLogFile={root}/log/slurmd.log",
        "GresTypes=gpu,shard",
        f"NodeName=localhost CPUs=2 RealMemory={memory_mb} Gres=gpu:1,shard:4 State=UNKNOWN",
        "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


def memory_mb() -> int:
    kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return kb // 1024 - 256


def munge_works() -> bool:
    proc = subprocess.run("munge -n | unmunge", shell=True, capture_output=True, timeout=10)
    return proc.returncode == 0


def stop(pid_file: Path) -> None:
    """Terminate the daemon whose pid is in `pid_file` and wait for it to exit."""
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """Start munged (unless one answers), slurmctld and a configless slurmd; stop them afterwards."""
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd/munged needs root")
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        pytest.skip(f"SLURM/munge binaries missing: {missing} (make system-deps installs slurm-wlm and munge)")
    if Path("/etc/slurm/slurm.conf").exists():
        pytest.skip("/etc/slurm/slurm.conf exists: a real SLURM installation; not starting a test cluster beside it")

    root = tmp_path_factory.mktemp("slurm")
    for d in ("spool/ctld", "spool/d", "log", "run"):
        (root / d).mkdir(parents=True)
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, free_port(), free_port(), memory_mb()))
    (root / "gres.conf").write_text("Name=gpu File=/dev/null\nName=shard Count=4\n")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    daemon_env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    previous_conf = os.readlink(RUN_CONF) if RUN_CONF.is_symlink() else None

    started: list[Path] = []
    try:
        if not munge_works():
            MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["munged", "--force", f"--pid-file={root}/run/munged.pid", f"--log-file={root}/log/munged.log",
                            f"--seed-file={root}/run/munge.seed"], check=True, timeout=30)
            started.append(root / "run/munged.pid")
            wait_for(munge_works, 10, "munged")
        subprocess.run(["slurmctld"], env=env, check=True, timeout=30)
        started.append(root / "run/slurmctld.pid")
        ctld_port = next(line.split("=")[1] for line in conf.read_text().splitlines() if line.startswith("SlurmctldPort"))
        wait_for(lambda: subprocess.run(["scontrol", "ping"], env=env, capture_output=True, text=True).stdout.count("UP") > 0,
                 30, "slurmctld")
        subprocess.run(["slurmd", "--conf-server", f"localhost:{ctld_port}", "-N", "localhost"],
                       env=daemon_env, check=True, timeout=30)
        started.append(root / "run/slurmd.pid")
        wait_for(lambda: subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True)
                 .stdout.strip() == "idle", 60, "the node to become idle")
        yield {"env": {"SLURM_CONF": str(conf)}, "root": root}
    finally:
        for pid_file in reversed(started):
            stop(pid_file)
        if RUN_CONF.is_symlink() and str(root) in os.readlink(RUN_CONF):
            RUN_CONF.unlink()
            if previous_conf:
                RUN_CONF.symlink_to(previous_conf)


def scontrol_job(job_id: str, env: dict) -> dict[str, str]:
    """`scontrol show job` as key -> value."""
    out = sh(["scontrol", "show", "job", "-o", job_id], Path("."), env=env).stdout
    return dict(tok.split("=", 1) for tok in out.split() if "=" in tok)


def test_tiny_grid_through_the_slurm_executor(slurm_cluster, tmp_path):
    """The grid's train/sample/evaluate jobs run as SLURM jobs with the resources params request."""
    env = slurm_cluster["env"]

    def cluster_grid(params):
        tiny_grid(params)
        params["resources"]["train"].update(gpu=1, mem_mb=1000, runtime=20)
        params["resources"]["eval"].update(gpu=0, mem_mb=900, runtime=15)
        # 200 2-D points need no 256 MB k-NN working set: with it, validation's estimate (process + working set)
        # would exceed the 900 MB job and refuse the grid before any job starts
        params["eval"]["memory_mb"] = 64

    repo = make_repo(tmp_path / "repo", edit=cluster_grid, steps=10)
    params = load_params(repo / "params.yaml")
    sh(["dvc", "repro", "evaluate_real"], repo)  # data + classifier here; the runs go to SLURM

    sh(["snakemake", "--profile", "profiles/slurm", "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs"], repo, env=env, timeout=600)

    runs = list(iter_runs(params))
    for spec in runs:
        for name in ("checkpoint.pt", "samples.npz", "metrics.json"):
            assert (repo / spec.dir / name).exists(), spec.dir / name
        assert '"finished"' in (repo / spec.dir / "status.json").read_text()
    assert (repo / "reports/report.md").exists()

    # each job was a SLURM job; check what slurmctld granted it
    jobs: dict[str, list[dict[str, str]]] = {}
    for log in (repo / "logs/slurm").glob("rule_*/*/*.log"):
        jobs.setdefault(log.parts[-3].removeprefix("rule_"), []).append(scontrol_job(log.stem, env))
    assert {rule: len(v) for rule, v in jobs.items()} == {"train": len(runs), "sample": len(runs), "evaluate": len(runs)}
    tr, ev = params["resources"]["train"], params["resources"]["eval"]
    threads = {"train": params["train"]["threads"], "sample": params["train"]["threads"], "evaluate": params["eval"]["threads"]}
    for rule, res in (("train", tr), ("sample", ev), ("evaluate", ev)):
        for job in jobs[rule]:
            assert job["JobState"] == "COMPLETED", job
            assert job["MinMemoryNode"] == f"{res['mem_mb']}M"
            assert job["TimeLimit"] == f"00:{res['runtime']:02d}:00"
            assert job["NumCPUs"] == str(threads[rule])
            assert ("gres:gpu:1" in job.get("TresPerJob", "")) == (rule == "train"), job
    assert "Nothing to be done" in sh(["snakemake", "-n"], repo, env=env).stdout

    # the cluster-generic profile against the same cluster: one job through sbatch + the status script
    spec = runs[0]
    (repo / spec.dir / "metrics.json").unlink()
    sh(["snakemake", "--profile", "profiles/cluster", "--seconds-between-status-checks", "2",
        (spec.dir / "metrics.json").as_posix()], repo, env=env, timeout=300)
    assert (repo / spec.dir / "metrics.json").exists()
    out_logs = list((repo / "logs/cluster").glob("evaluate-*.out"))
    assert len(out_logs) == 1
    job = scontrol_job(out_logs[0].stem.split("-")[-1], env)
    assert job["JobState"] == "COMPLETED" and job["JobName"] == "gangrid-evaluate"
    assert job["MinMemoryNode"] == f"{ev['mem_mb']}M"


def test_gpu_shards_are_granted_and_never_oversubscribed(slurm_cluster, tmp_path):
    """--gres=shard:K (a `gpu_share: K` job of profiles/slurm) on a GPU of 4 shards and a node of 2 cores: a job
    of 3 shards runs; a job of 2 more waits for shards, not cores (one is free), and starts when the first ends."""
    env = slurm_cluster["env"]

    def submit(shards: int, seconds: int) -> str:
        return sh(["sbatch", "--parsable", f"--gres=shard:{shards}", "-c", "1", "--mem=100",
                   f"--output={tmp_path}/%j.out", "--wrap", f"sleep {seconds}"], tmp_path, env=env).stdout.strip()

    big = submit(3, 12)
    wait_for(lambda: scontrol_job(big, env)["JobState"] == "RUNNING", 60, "the 3-shard job to run")
    waiting = submit(2, 1)
    time.sleep(4)
    job, node = scontrol_job(waiting, env), sh(["scontrol", "show", "node", "-o"], tmp_path, env=env).stdout
    assert job["JobState"] == "PENDING" and job["Reason"] == "Resources", job
    assert "CPUAlloc=1 " in node and scontrol_job(big, env)["JobState"] == "RUNNING"  # a core was free
    assert scontrol_job(big, env)["TresPerNode"] == "gres:shard:3"
    wait_for(lambda: scontrol_job(waiting, env)["JobState"] == "COMPLETED", 90, "the 2-shard job to get its shards")
    assert scontrol_job(waiting, env)["StartTime"] >= scontrol_job(big, env)["EndTime"]
