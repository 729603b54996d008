# The Hydra configs, shipped inside the package as genie_exp.conf (setup.cfg maps this folder there).
