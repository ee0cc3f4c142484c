"""Calibration on the user's own hardware (``underlay calibrate``): microbenchmarks run
natively, in a container sandbox and in a KVM guest; the noisy-neighbour experiments
under soft CPU shares and hard quotas; the model's prediction beside each measurement;
and the calibration file a scenario uses to replace the cited defaults it measured."""
