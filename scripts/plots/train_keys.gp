# The run parameters the training figures tell apart (a series per
# combination that occurs, train_common.gp), loaded by each train_*.gp
# before common.gp: these keys are drawn, not held at one value (common.gp,
# roles: own_keys). Any other key that varies is held, and the title says so.
fig_kind = "claim"
own_keys = "depth width activation batch lr sgd_momentum weight_decay batch_order shift_scale shift_mean corrupt_noise occlusion train_steps"
