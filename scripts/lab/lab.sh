#!/usr/bin/env bash
# The network lab: Linux network namespaces joined by veth pairs, with router
# namespaces in between (root only). Idempotent: `up` first removes a lab of
# the same name; `down` removes every namespace of that name and never fails.
#
#   lab.sh up NAME nat [--symmetric]   two peers, each behind its own home-router
#                                      NAT, and an "internet" namespace between
#   lab.sh up NAME path [--rate MBIT] [--queue-ms MS] [--loss PERMILLE]
#                                      sender - router - receiver; the router
#                                      holds the bottleneck and the random loss
#   lab.sh down NAME
#   lab.sh check                       exits 0 if a lab can be built here
#
# Every address is private and exists only inside the lab's namespaces:
#   nat:  NAME-a 10.201.1.2 -> NAME-ra (NAT, public 10.201.10.2) -> NAME-inet
#         (rendezvous 10.201.0.1) <- NAME-rb (NAT, public 10.201.20.2) <- NAME-b 10.201.2.2
#   path: NAME-snd 10.202.1.2 -> NAME-rt -> NAME-rcv 10.202.2.2
# Names are the caller's (tests use a per-process one), so labs never collide.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

cmd="${1:-}"
case "$cmd" in
  check)
    lab_check
    ;;
  down)
    [ $# -ge 2 ] || lab_usage
    lab_down "$2"
    ;;
  up)
    [ $# -ge 3 ] || lab_usage
    name="$2"; topology="$3"; shift 3
    lab_check_name "$name"
    lab_check
    lab_down "$name"
    # A half-built lab is removed before the error is reported.
    trap 'lab_down "$name"' ERR
    case "$topology" in
      nat) lab_up_nat "$name" "$@" ;;
      path) lab_up_path "$name" "$@" ;;
      *) lab_usage ;;
    esac
    trap - ERR
    ;;
  *)
    lab_usage
    ;;
esac
