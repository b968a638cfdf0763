#!/bin/sh
# now_handoff: `daxleak --now` on a hang that started before daxtrace, handoff variant
# (see now_pin.sh for the checks).
NOW_MODE=handoff
. /daxtest/scenarios/now_pin.sh
