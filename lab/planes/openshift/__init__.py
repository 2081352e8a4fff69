"""OpenShift SDN 3.11 data plane: model, renderers and node realisation."""
