// SPDX-License-Identifier: GPL-2.0
/*
 * The mlx4_core symbols the C mlx4_ib links against, defined in Rust by the
 * software ConnectX-3 (abi.rs) and exported here under their mlx4_core names.
 * Including the mlx4 headers makes the compiler check each name is declared.
 */
#include <linux/export.h>
#include <linux/mlx4/cmd.h>
#include <linux/mlx4/cq.h>
#include <linux/mlx4/device.h>
#include <linux/mlx4/driver.h>
#include <linux/mlx4/qp.h>
#include <linux/mlx4/srq.h>

EXPORT_SYMBOL_GPL(__mlx4_cmd);
EXPORT_SYMBOL_GPL(mlx4_CLOSE_PORT);
EXPORT_SYMBOL_GPL(mlx4_FLOW_STEERING_IB_UC_QP_RANGE);
EXPORT_SYMBOL_GPL(mlx4_INIT_PORT);
EXPORT_SYMBOL_GPL(mlx4_alloc_cmd_mailbox);
EXPORT_SYMBOL_GPL(mlx4_assign_eq);
EXPORT_SYMBOL_GPL(mlx4_buf_alloc);
EXPORT_SYMBOL_GPL(mlx4_buf_free);
EXPORT_SYMBOL_GPL(mlx4_buf_write_mtt);
EXPORT_SYMBOL_GPL(mlx4_config_roce_v2_port);
EXPORT_SYMBOL_GPL(mlx4_counter_alloc);
EXPORT_SYMBOL_GPL(mlx4_counter_free);
EXPORT_SYMBOL_GPL(mlx4_cq_alloc);
EXPORT_SYMBOL_GPL(mlx4_cq_free);
EXPORT_SYMBOL_GPL(mlx4_cq_modify);
EXPORT_SYMBOL_GPL(mlx4_cq_resize);
EXPORT_SYMBOL_GPL(mlx4_db_alloc);
EXPORT_SYMBOL_GPL(mlx4_db_free);
EXPORT_SYMBOL_GPL(mlx4_free_cmd_mailbox);
EXPORT_SYMBOL_GPL(mlx4_gen_guid_change_eqe);
EXPORT_SYMBOL_GPL(mlx4_gen_pkey_eqe);
EXPORT_SYMBOL_GPL(mlx4_gen_port_state_change_eqe);
EXPORT_SYMBOL_GPL(mlx4_gen_slaves_port_mgt_ev);
EXPORT_SYMBOL_GPL(mlx4_get_active_ports);
EXPORT_SYMBOL_GPL(mlx4_get_admin_guid);
EXPORT_SYMBOL_GPL(mlx4_get_base_gid_ix);
EXPORT_SYMBOL_GPL(mlx4_get_counter_stats);
EXPORT_SYMBOL_GPL(mlx4_get_default_counter_index);
EXPORT_SYMBOL_GPL(mlx4_get_devlink_port);
EXPORT_SYMBOL_GPL(mlx4_get_eqs_per_port);
EXPORT_SYMBOL_GPL(mlx4_get_internal_clock_params);
EXPORT_SYMBOL_GPL(mlx4_get_parav_qkey);
EXPORT_SYMBOL_GPL(mlx4_get_roce_gid_from_slave);
EXPORT_SYMBOL_GPL(mlx4_get_slave_default_vlan);
EXPORT_SYMBOL_GPL(mlx4_get_slave_from_roce_gid);
EXPORT_SYMBOL_GPL(mlx4_get_slave_port_state);
EXPORT_SYMBOL_GPL(mlx4_handle_eth_header_mcast_prio);
EXPORT_SYMBOL_GPL(mlx4_hw_rule_sz);
EXPORT_SYMBOL_GPL(mlx4_is_eq_shared);
EXPORT_SYMBOL_GPL(mlx4_is_slave_active);
EXPORT_SYMBOL_GPL(mlx4_map_sw_to_hw_steering_id);
EXPORT_SYMBOL_GPL(mlx4_map_sw_to_hw_steering_mode);
EXPORT_SYMBOL_GPL(mlx4_mr_alloc);
EXPORT_SYMBOL_GPL(mlx4_mr_enable);
EXPORT_SYMBOL_GPL(mlx4_mr_free);
EXPORT_SYMBOL_GPL(mlx4_mr_hw_change_access);
EXPORT_SYMBOL_GPL(mlx4_mr_hw_change_pd);
EXPORT_SYMBOL_GPL(mlx4_mr_hw_get_mpt);
EXPORT_SYMBOL_GPL(mlx4_mr_hw_put_mpt);
EXPORT_SYMBOL_GPL(mlx4_mr_hw_write_mpt);
EXPORT_SYMBOL_GPL(mlx4_mr_rereg_mem_cleanup);
EXPORT_SYMBOL_GPL(mlx4_mr_rereg_mem_write);
EXPORT_SYMBOL_GPL(mlx4_mtt_cleanup);
EXPORT_SYMBOL_GPL(mlx4_mtt_init);
EXPORT_SYMBOL_GPL(mlx4_multicast_attach);
EXPORT_SYMBOL_GPL(mlx4_multicast_detach);
EXPORT_SYMBOL_GPL(mlx4_mw_alloc);
EXPORT_SYMBOL_GPL(mlx4_mw_enable);
EXPORT_SYMBOL_GPL(mlx4_mw_free);
EXPORT_SYMBOL_GPL(mlx4_pd_alloc);
EXPORT_SYMBOL_GPL(mlx4_pd_free);
EXPORT_SYMBOL_GPL(mlx4_phys_to_slave_port);
EXPORT_SYMBOL_GPL(mlx4_put_qp);
EXPORT_SYMBOL_GPL(mlx4_put_slave_node_guid);
EXPORT_SYMBOL_GPL(mlx4_qp_alloc);
EXPORT_SYMBOL_GPL(mlx4_qp_free);
EXPORT_SYMBOL_GPL(mlx4_qp_modify);
EXPORT_SYMBOL_GPL(mlx4_qp_query);
EXPORT_SYMBOL_GPL(mlx4_qp_release_range);
EXPORT_SYMBOL_GPL(mlx4_qp_remove);
EXPORT_SYMBOL_GPL(mlx4_qp_reserve_range);
EXPORT_SYMBOL_GPL(mlx4_query_diag_counters);
EXPORT_SYMBOL_GPL(mlx4_register_auxiliary_driver);
EXPORT_SYMBOL_GPL(mlx4_register_event_notifier);
EXPORT_SYMBOL_GPL(mlx4_register_mac);
EXPORT_SYMBOL_GPL(mlx4_register_vlan);
EXPORT_SYMBOL_GPL(mlx4_release_eq);
EXPORT_SYMBOL_GPL(mlx4_set_admin_guid);
EXPORT_SYMBOL_GPL(mlx4_slave_convert_port);
EXPORT_SYMBOL_GPL(mlx4_srq_alloc);
EXPORT_SYMBOL_GPL(mlx4_srq_arm);
EXPORT_SYMBOL_GPL(mlx4_srq_free);
EXPORT_SYMBOL_GPL(mlx4_srq_lookup);
EXPORT_SYMBOL_GPL(mlx4_srq_query);
EXPORT_SYMBOL_GPL(mlx4_sync_pkey_table);
EXPORT_SYMBOL_GPL(mlx4_tunnel_steer_add);
EXPORT_SYMBOL_GPL(mlx4_uar_alloc);
EXPORT_SYMBOL_GPL(mlx4_uar_free);
EXPORT_SYMBOL_GPL(mlx4_unregister_auxiliary_driver);
EXPORT_SYMBOL_GPL(mlx4_unregister_event_notifier);
EXPORT_SYMBOL_GPL(mlx4_unregister_mac);
EXPORT_SYMBOL_GPL(mlx4_unregister_vlan);
EXPORT_SYMBOL_GPL(mlx4_update_qp);
EXPORT_SYMBOL_GPL(mlx4_vf_get_enable_smi_admin);
EXPORT_SYMBOL_GPL(mlx4_vf_set_enable_smi_admin);
EXPORT_SYMBOL_GPL(mlx4_vf_smi_enabled);
EXPORT_SYMBOL_GPL(mlx4_write_mtt);
EXPORT_SYMBOL_GPL(mlx4_xrcd_alloc);
EXPORT_SYMBOL_GPL(mlx4_xrcd_free);
EXPORT_SYMBOL_GPL(set_and_calc_slave_port_state);
