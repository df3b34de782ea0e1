# Not the executor: no torch.profiler.profile call at all.
class PyExecutor:

    def _profiler(self):
        enable_torch_trace = bool(torch_trace_path and profile_start_stop)
        return enable_torch_trace
