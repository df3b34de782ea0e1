# A newer shape: every rank already writes its own trace file, the code is
# a module-level generator (no self), and the call turns stacks off.
import os

import torch


def profiler_loop(ctx):
    torch_trace_path = os.environ.get("TLLM_TORCH_PROFILE_TRACE", None)
    if torch_trace_path is not None:
        trace_base, trace_ext = os.path.splitext(torch_trace_path)
        torch_trace_path = f"{trace_base}-rank-{ctx.rank}{trace_ext}"
    profile_start_stop = os.environ.get("TLLM_PROFILE_START_STOP", None)
    enable_torch_trace = bool(torch_trace_path and profile_start_stop)
    if enable_torch_trace:
        torch_profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA], with_stack=False)
        yield torch_profiler
