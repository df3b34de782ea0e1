# A cut-down py_executor.py of the shape TensorRT-LLM 0.19-1.0 ship:
# the profiler call's arguments are aligned under its opening parenthesis.
import os

import torch

PROFILE_TRACE_ENV_VAR_NAME = "TLLM_TORCH_PROFILE_TRACE"
PROFILE_START_STOP_ENV_VAR_NAME = "TLLM_PROFILE_START_STOP"


class PyExecutor:

    def __init__(self, dist):
        self.dist = dist

    def _profiler(self):
        torch_trace_path = os.environ.get(PROFILE_TRACE_ENV_VAR_NAME, None)
        profile_start_stop = os.environ.get(PROFILE_START_STOP_ENV_VAR_NAME,
                                            None)
        enable_torch_trace = bool(torch_trace_path and profile_start_stop)
        if enable_torch_trace:
            activities = [
                torch.profiler.ProfilerActivity.CPU,
                torch.profiler.ProfilerActivity.CUDA,
            ]
            torch_profiler = torch.profiler.profile(activities=activities,
                                                    record_shapes=True,
                                                    with_modules=True)
        return enable_torch_trace
