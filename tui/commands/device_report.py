"""Rows for ``plmprof devices``: every section says plainly what is missing and why."""

from __future__ import annotations

from profilers.export import format_value
from profilers.inventory import device_inventory
from tui.widgets.units import NA, size


def _size(value: object) -> str:
    return size(value) if isinstance(value, int) else NA


def _cuda_devices(cuda: dict[str, object]) -> str:
    """``cuda:0, cuda:1``, with the GPU (NVML's number) each is when CUDA_VISIBLE_DEVICES picks."""
    devices = cuda["devices"]
    assert isinstance(devices, list)
    if not devices:
        return str(cuda["note"])
    indices = cuda["nvml_indices"]
    if isinstance(indices, list) and indices != list(range(len(indices))):
        return ", ".join(f"{d} = GPU {i}" for d, i in zip(devices, indices, strict=True))
    return ", ".join(devices)


def device_report() -> list[tuple[str, list[tuple[str, str]]]]:
    inv = device_inventory()
    cpu = inv["cpu"]
    sections = [
        (
            "CPU",
            [
                ("name", cpu["name"]),
                ("logical cores", str(cpu["logical_cores"])),
                ("memory", _size(cpu["memory_bytes"])),
                ("torch threads", str(cpu["torch_threads"])),
                ("instance type", inv["instance_type"] or "not on EC2 (or not readable)"),
            ],
        )
    ]
    cuda, nvml = inv["cuda"], inv["nvml"]
    build = f"CUDA {cuda['torch_cuda']}" if cuda["torch_cuda"] else "CPU build"
    gpu_rows = [("torch", f"{cuda['torch'] or 'not installed'} ({build})")]
    gpu_rows.append(("devices", _cuda_devices(cuda)))
    if cuda["listed_by"] not in (None, "NVML"):
        gpu_rows.append(("listed by", cuda["listed_by"]))
    gpu_rows.append(("NVML", "available" if nvml["available"] else nvml["reason"] or "absent"))
    for gpu in nvml["gpus"]:
        gpu_rows.append(
            (
                f"GPU {gpu['index']}",
                f"{gpu['name']}, {_size(gpu['memory_total_bytes'])}, "
                f"{format_value(gpu['power_limit_w'])} W limit, driver "
                f"{gpu['driver_version']}, CUDA {gpu['cuda_driver_version']}",
            )
        )
    sections.append(("NVIDIA GPUs", gpu_rows))
    neuron = inv["neuron"]
    neuron_rows = [("SDK", neuron["note"]), ("neuron-ls", neuron["neuron_ls"])]
    for device in neuron["devices"]:
        neuron_rows.append(
            (
                f"device {device['neuron_device']}",
                f"{device['nc_count']} NeuronCores, {_size(device['memory_size'])}, "
                f"bdf {device['bdf']}",
            )
        )
    sections.append(("AWS Neuron", neuron_rows))
    gaudi = inv["gaudi"]
    telemetry = gaudi["telemetry"] or gaudi["reason"] or "absent"
    if gaudi["telemetry"] and gaudi["reason"]:
        telemetry += f" ({gaudi['reason']})"
    gaudi_rows = [("PyTorch bridge", gaudi["bridge"]), ("telemetry", telemetry)]
    for card in gaudi["cards"]:
        gaudi_rows.append(
            (
                f"card {card['index']}",
                f"{card['name'] or 'Gaudi'}, module {format_value(card['module_id'])}, "
                f"{_size(card['memory_total_bytes'])}",
            )
        )
    sections.append(("Intel Gaudi", gaudi_rows))
    return sections
