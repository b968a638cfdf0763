#!/bin/sh
# now_punch: `daxleak --now` on a hang that started before daxtrace, punch variant
# (see now_pin.sh for the checks).
NOW_MODE=punch
. /daxtest/scenarios/now_pin.sh
