#!/bin/sh
# now_evict: `daxleak --now` on a hang that started before daxtrace, evict variant
# (see now_pin.sh for the checks).
NOW_MODE=evict
. /daxtest/scenarios/now_pin.sh
