# The profiler call is here but the enable_torch_trace line is written
# differently, so the rank-0 guard cannot be placed.
import torch


class PyExecutor:

    def _profiler(self):
        enable_torch_trace = self.trace_enabled()
        if enable_torch_trace:
            torch_profiler = torch.profiler.profile(record_shapes=True)
            return torch_profiler
