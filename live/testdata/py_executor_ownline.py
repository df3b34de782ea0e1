# The profiler call written with one argument per line and the closing
# parenthesis on its own line (trailing commas).
import os

import torch


class PyExecutor:

    def _profiler(self):
        torch_trace_path = os.environ.get("TLLM_TORCH_PROFILE_TRACE")
        profile_start_stop = os.environ.get("TLLM_PROFILE_START_STOP")
        enable_torch_trace = bool(torch_trace_path and profile_start_stop)
        if enable_torch_trace and self.dist.rank >= 0:
            torch_profiler = torch.profiler.profile(
                activities=[
                    torch.profiler.ProfilerActivity.CPU,
                    torch.profiler.ProfilerActivity.CUDA,  # (GPU)
                ],
                record_shapes=True,
                with_modules=True,  # module names in the trace
            )
            return torch_profiler
