"""A stand-in for nvidia-ml-py's ``pynvml`` with two fake GPUs (the NVML boundary).

Put this folder first on ``PYTHONPATH`` (or in ``sys.modules``) to test GPU
metrics on a machine without a GPU.
"""

NVML_TEMPERATURE_GPU = 0


class NVMLError(Exception):
    pass


class _Util:
    def __init__(self, gpu):
        self.gpu = gpu
        self.memory = gpu // 2


class _Mem:
    def __init__(self, used, total):
        self.used = used
        self.total = total
        self.free = total - used


_initialised = False


def nvmlInit():
    global _initialised
    _initialised = True


def nvmlShutdown():
    global _initialised
    _initialised = False


def nvmlDeviceGetCount():
    if not _initialised:
        raise NVMLError("not initialised")
    return 2


def nvmlDeviceGetHandleByIndex(index):
    return index


def nvmlDeviceGetUtilizationRates(handle):
    return _Util(40 + 10 * handle)


def nvmlDeviceGetMemoryInfo(handle):
    return _Mem((1 + handle) * 1024**3, 8 * 1024**3)


def nvmlDeviceGetTemperature(handle, sensor):
    return 60 + handle


def nvmlDeviceGetPowerUsage(handle):
    if handle == 1:
        raise NVMLError("not supported on this device")
    return 150_000  # milliwatts
