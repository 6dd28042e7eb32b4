// SPDX-License-Identifier: GPL-2.0
/*
 * C wrappers for the static inline kernel functions the Rust side calls.
 *
 * Each module links its own copy (see ipoib/ipoib_helpers.c and
 * mlx4_ib/mlx4_ib_helpers.c); bindgen turns the `rust_helper_` prototypes
 * into Rust declarations with the prefix dropped, as rust/helpers does.
 */
#include <linux/auxiliary_bus.h>
#include <linux/device.h>
#include <linux/mlx4/device.h>
#include <rdma/ib_verbs.h>

u32 rust_helper_rdma_start_port(const struct ib_device *device)
{
	return rdma_start_port(device);
}

u32 rust_helper_rdma_end_port(const struct ib_device *device)
{
	return rdma_end_port(device);
}

bool rust_helper_rdma_protocol_ib(const struct ib_device *device, u32 port)
{
	return rdma_protocol_ib(device, port);
}

bool rust_helper_rdma_protocol_roce(const struct ib_device *device, u32 port)
{
	return rdma_protocol_roce(device, port);
}

bool rust_helper_rdma_protocol_iwarp(const struct ib_device *device, u32 port)
{
	return rdma_protocol_iwarp(device, port);
}

const char *rust_helper_dev_name(const struct device *dev)
{
	return dev_name(dev);
}

void *rust_helper_auxiliary_get_drvdata(struct auxiliary_device *adev)
{
	return auxiliary_get_drvdata(adev);
}

void rust_helper_auxiliary_set_drvdata(struct auxiliary_device *adev, void *data)
{
	auxiliary_set_drvdata(adev, data);
}
