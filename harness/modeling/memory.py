"""Peak memory of one stage: GPU allocator peak on CUDA, else resident set size sampled in a thread.

The process-wide ru_maxrss would charge a stage for whatever an earlier stage peaked at.
"""

from __future__ import annotations

import threading
from typing import Optional


class PeakMemory:
    """Context manager; after exit, `.megabytes` is the peak and `.metric_name` says which kind."""

    def __init__(self, device: str, interval_seconds: float = 0.05):
        self.device = device
        self.interval_seconds = interval_seconds
        self.megabytes: Optional[float] = None
        self.metric_name = "peak_gpu_memory_mb" if device.startswith("cuda") else "peak_rss_mb"
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._peak_bytes = 0

    def __enter__(self) -> "PeakMemory":
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
        else:
            import psutil

            process = psutil.Process()
            self._peak_bytes = process.memory_info().rss

            def sample() -> None:
                while not self._stop.wait(self.interval_seconds):
                    self._peak_bytes = max(self._peak_bytes, process.memory_info().rss)

            self._thread = threading.Thread(target=sample, name="peak-memory", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.device.startswith("cuda"):
            import torch

            self.megabytes = torch.cuda.max_memory_allocated() / 2**20
        else:
            import psutil

            self._stop.set()
            self._thread.join()
            self.megabytes = max(self._peak_bytes, psutil.Process().memory_info().rss) / 2**20
