"""Data-parallel training of one model in several processes with Hugging Face Accelerate.

`fit` hands over here when `data_parallel_processes` (or the number of visible GPUs) asks for more than one
process. The parent saves the job to a temporary directory, spawns one worker per process (spawn, not fork:
CUDA cannot be forked), and each worker runs the shared loop `harness.training.loop.run_training` with an
`AcceleratedReplica`: every process draws the same global batches from the same seed, runs forward and
backward on its contiguous slice of each, and DistributedDataParallel averages the gradients. Each slice's
mean loss is weighted by (slice size x processes / batch size), so that average equals the gradient of the
whole batch's mean loss: the same step one process would take, up to floating-point rounding, also for an
uneven last batch. The main process (rank 0) writes its FitResult and trained weights back, and the parent
loads those weights into its own model, so callers see a trained model exactly as after one process.

On CUDA each process owns one GPU and they talk over NCCL; on CPU they talk over gloo (how the tests run it).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional

from harness.core.types import AdversarialTraining
from harness.training.loop import FitResult, TrainingJob, TrainingSettings, planned_steps, run_training


def resolve_processes(settings: TrainingSettings, device: str, model: Any,
                      after_optimizer_step: Optional[Callable[[int], None]],
                      adversarial: Optional[AdversarialTraining]) -> int:
    """How many processes train this cell; raises ValueError for an explicit request that cannot be met."""
    requested = settings.data_parallel_processes
    if requested == 1:
        return 1
    use_cuda = device.startswith("cuda")
    visible = _visible_gpus() if use_cuda else 0
    unsupported = _unsupported(model, after_optimizer_step, adversarial)
    if requested is None:
        # The automatic choice never turns a run that works in one process into an error.
        return visible if visible > 1 and device == "cuda" and unsupported is None else 1
    if unsupported is not None:
        raise ValueError(f"data_parallel_processes={requested}: {unsupported}; set data_parallel_processes: 1")
    if use_cuda:
        if device != "cuda":
            raise ValueError(f"data_parallel_processes={requested} uses GPUs 0..{requested - 1}, but the device "
                             f"{device!r} names one GPU; choose GPUs with CUDA_VISIBLE_DEVICES instead")
        if requested > visible:
            raise ValueError(f"data_parallel_processes={requested} asks for one GPU per process, but only {visible} "
                             f"CUDA GPU(s) are visible")
    return requested


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count()


def _unsupported(model: Any, after_optimizer_step: Optional[Callable[[int], None]],
                 adversarial: Optional[AdversarialTraining]) -> Optional[str]:
    from harness.modeling.models import is_quantized

    if adversarial is not None:
        return ("adversarial training (`adversarial:` on a method) attacks the model between epochs in one "
                "process and is not supported with several processes")
    if after_optimizer_step is not None:
        return ("this method runs a callback after every optimizer step (AdaLoRA's rank allocation), "
                "which is not supported with several processes")
    if is_quantized(model):
        return "quantized (bitsandbytes) models sit on one GPU and cannot be copied to several processes"
    return None


class AcceleratedReplica:
    """The `run_training` replica protocol (see harness.training.loop.OneProcess) for one of several processes."""

    def __init__(self, accelerator: Any):
        self.accelerator = accelerator
        self.processes = accelerator.num_processes
        self.rank = accelerator.process_index
        self.is_main = accelerator.is_main_process

    def prepare(self, model: Any, optimizer: Any) -> tuple[Any, Any]:
        return self.accelerator.prepare(model, optimizer)

    def shard(self, batch_indices: list[int]) -> tuple[list[int], int]:
        """This process's contiguous slice of the global batch (sizes differ by at most one), and its size.

        A process whose slice is empty (a last batch smaller than the process count) still runs forward and
        backward on one example with zero weight: DistributedDataParallel's gradient all-reduce needs every
        process, and a zero-weighted loss contributes nothing to it."""
        base, extra = divmod(len(batch_indices), self.processes)
        start = self.rank * base + min(self.rank, extra)
        size = base + (1 if self.rank < extra else 0)
        if size == 0:
            return batch_indices[:1], 0
        return batch_indices[start:start + size], size

    def backward(self, loss: Any, counted: int, batch_size: int) -> None:
        # DDP averages gradients over processes; weighting each slice's mean loss by its share of the batch
        # (times the process count) turns that average into the gradient of the whole batch's mean loss.
        self.accelerator.backward(loss * (counted * self.processes / batch_size))

    def clip_grad_norm_(self, parameters: list[Any], max_norm: float) -> None:
        self.accelerator.clip_grad_norm_(parameters, max_norm)

    def batch_totals(self, loss_sum: float, correct: int) -> tuple[float, int]:
        import torch

        totals = torch.tensor([loss_sum, float(correct)], dtype=torch.float64, device=self.accelerator.device)
        torch.distributed.all_reduce(totals)
        return totals[0].item(), round(totals[1].item())

    def agree(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        import torch

        shared = [values]
        torch.distributed.broadcast_object_list(shared, src=0)
        return tuple(shared[0])


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a data-parallel worker; the `__cause__` of what the parent raises."""


def fit_in_processes(job: TrainingJob, progress: Callable[..., Any], processes: int) -> FitResult:
    """`fit` in `processes` spawned processes; trains `job.model` in place (its trainable tensors are replaced).

    The job is saved once for the workers (they must not share the parent's tensors); each runs it on its own
    device. Its `after_optimizer_step` and `adversarial` are None (resolve_processes refuses them)."""
    import torch
    from torch import multiprocessing
    from torch.multiprocessing.spawn import ProcessException

    model, device = job.model, job.device
    use_cuda = device.startswith("cuda")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="harness-data-parallel-") as directory:
        work_dir = Path(directory)
        # A file rather than spawn arguments: torch's multiprocessing pickler would move the parent's tensors to
        # shared memory, and every worker would then update the same weights in place.
        torch.save(dataclasses.replace(job, model=model.cpu() if _movable(model) else model, train=tuple(job.train),
                                       validation=tuple(job.validation)), work_dir / "job.pt")
        queue = multiprocessing.get_context("spawn").SimpleQueue()
        bar = progress(total=planned_steps(len(job.train), job.settings, job.budgets),
                       desc=f"train ({processes} processes)", unit="step")
        context = None
        try:
            context = multiprocessing.start_processes(
                _worker, args=(processes, use_cuda, _free_port(), str(work_dir), queue), nprocs=processes,
                join=False, start_method="spawn")
            while True:
                _drain(queue, bar)
                try:
                    if context.join(timeout=0.2):
                        break
                except ProcessException as error:  # join has stopped the other workers
                    exception, remote = _worker_error(work_dir, error)
                    raise exception from remote
            _drain(queue, bar)
        finally:
            bar.close()
            if context is not None:
                for process in context.processes:  # only after an interrupt in this loop are any still running
                    if process.is_alive():
                        process.terminate()
                        process.join()
        outcome = torch.load(work_dir / "result.pt", weights_only=False)
    model.load_state_dict(outcome["state"], strict=False)
    if _movable(model):
        model.to(device)
    model.eval()
    # Wall time including the workers' start-up: what data parallelism really cost this cell.
    return dataclasses.replace(outcome["result"], train_seconds=time.perf_counter() - started)


def _movable(model: Any) -> bool:
    from harness.modeling.models import is_quantized

    return not is_quantized(model)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _drain(queue: Any, bar: Any) -> None:
    while not queue.empty():
        steps, postfix = queue.get()
        bar.update(steps)
        if postfix:
            bar.set_postfix(**postfix, refresh=False)


class _QueueBar:
    """The main worker's progress bar: forwards updates to the parent, which owns the real bar (the parent's
    `progress` callable need not pickle, and it knows whether progress is shown at all)."""

    def __init__(self, queue: Any):
        self.queue = queue
        self.pending = 0

    def update(self, steps: int) -> None:
        self.pending += steps

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self.queue.put((self.pending, {name: str(value) for name, value in values.items()}))
        self.pending = 0

    def close(self) -> None:
        if self.pending:
            self.queue.put((self.pending, {}))
            self.pending = 0


class _SilentBar:
    def update(self, steps: int) -> None:
        pass

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _worker(rank: int, processes: int, use_cuda: bool, port: int, work_dir: str, queue: Any) -> None:
    """One process of the group (torch.multiprocessing passes `rank` first)."""
    import torch

    # The variables torch.distributed's env:// rendezvous and Accelerate read (torchrun would set them).
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(processes), "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(processes)})
    try:
        if not use_cuda:
            # Processes sharing the CPU would oversubscribe it with a full thread pool each. Setting the variable
            # also stops Accelerate from choosing (and warning about) a thread count of its own.
            threads = max(1, (os.cpu_count() or 1) // processes)
            os.environ["OMP_NUM_THREADS"] = str(threads)
            torch.set_num_threads(threads)
        from accelerate import Accelerator

        job: TrainingJob = torch.load(Path(work_dir) / "job.pt", weights_only=False)
        # cpu=True makes Accelerate pick MULTI_CPU over gloo; otherwise LOCAL_RANK selects MULTI_GPU over NCCL,
        # one GPU per process. bf16 autocast is the shared loop's own, as in one process.
        accelerator = Accelerator(cpu=not use_cuda, mixed_precision="no")
        replica = AcceleratedReplica(accelerator)
        bar = _QueueBar(queue) if replica.is_main else _SilentBar()
        result = run_training(dataclasses.replace(job, device=str(accelerator.device)), bar, replica)
        if replica.is_main:
            frozen = {name for name, parameter in job.model.named_parameters() if not parameter.requires_grad}
            state = {name: tensor.detach().cpu() for name, tensor in job.model.state_dict().items()
                     if name not in frozen}
            partial = Path(work_dir) / "result.pt.partial"
            torch.save({"result": result, "state": state}, partial)
            os.replace(partial, Path(work_dir) / "result.pt")
    except BaseException as error:
        _write_error(Path(work_dir), rank, error)
        # Exit at once: a process group torn down after a failure (gloo's threads, destroy_process_group, the
        # interpreter's shutdown) could wait forever on a peer that failed too, and the parent would never see the
        # exit. The parent reads the error written above.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def _write_error(work_dir: Path, rank: int, error: BaseException) -> None:
    try:
        exception = pickle.dumps(error)
        pickle.loads(exception)  # some exceptions pickle but cannot be rebuilt
    except Exception:  # anything may fail to pickle; the parent then rebuilds the error from its text
        exception = None
    record = {"rank": rank, "time": time.time(), "exception": exception, "type": type(error).__name__,
              "message": str(error), "traceback": "".join(traceback.format_exception(error))}
    (work_dir / f"error-{rank}.pkl").write_bytes(pickle.dumps(record))


def _worker_error(work_dir: Path, error: Exception) -> tuple[BaseException, Optional[BaseException]]:
    """The first worker's own exception (same type and message) with its traceback as the cause.

    The first one, by time: when one process fails the others usually fail after it, in a collective whose
    peer has gone, and those errors say nothing about the cause."""
    records = [pickle.loads(path.read_bytes()) for path in work_dir.glob("error-*.pkl")]
    if not records:  # killed without a Python exception (out of memory, a signal)
        return RuntimeError(f"a data-parallel training process died: {error}"), error
    first = min(records, key=lambda record: record["time"])
    exception = pickle.loads(first["exception"]) if first["exception"] is not None else RuntimeError(
        f"{first['type']}: {first['message']}")
    exception.add_note(f"(raised in data-parallel training process {first['rank']}; its traceback is above)")
    return exception, WorkerTraceback(f"in data-parallel training process {first['rank']}:\n{first['traceback']}")
