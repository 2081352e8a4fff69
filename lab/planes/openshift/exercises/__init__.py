"""Workshop exercises on the OpenShift lab, in course order: reading the data plane, break/fix, live `oc`,
traffic leaving a project. Their manifests are in manifests/."""

from lab.planes.openshift.exercises import egress, faults, live, paths

EXERCISES = paths.EXERCISES + faults.EXERCISES + live.EXERCISES + egress.EXERCISES
