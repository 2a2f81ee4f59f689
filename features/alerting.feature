Feature: Alerting rules
  A tenant's admin token creates alert rules over the API (POST
  /api/alert-rules): a metric, matchers, an aggregate over a window compared
  with a threshold, how often the rule is evaluated (cadence) and how long a
  breach must last before it fires ("for"). The scheduler evaluates each rule
  at its due times, once each; every instance of a rule (one per series)
  moves normal → pending → firing → normal, and each transition is recorded
  once: in the rule's history, in the firing episode (fired_at, resolved_at
  and the values it saw) and, when it notifies, as one outbox row ("firing",
  "resolved").

  The scenarios that watch evaluations start a server of their own on a clock
  they move by hand, and the alert scheduler beside it as `pulse serve` runs
  it (once their rules exist). Each second they post that second's samples, wait until
  they are stored, move the clock one second on, and wait until the scheduler
  has evaluated every rule at the new second. {{rfc3339 +3s}} is three seconds
  after the scenario's start (the clock's start, a whole second); a rule with
  a cadence of 1s created at the start is first due one second later, and a
  window of 10s evaluated at t holds the samples of [t-10s, t).

  Scenario: a breach goes pending, fires once "for" has passed, and resolves when the metric recovers
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s
    And a tenant with a token scoped "ingest,read,admin"
    When I create the alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","matchers":[{"tag":"host","op":"=","value":"web-1"}],
       "agg":"avg","window":"10s","op":">","threshold":0.9,"cadence":"1s","for":"2s",
       "annotations":{"summary":"{{ .Labels.host }} is at {{ round .Value 2 }}"}}
      """
    Then the answer is 201
    And the rule "cpu high" is next evaluated at {{rfc3339 +1s}}
    # The same series counted: the value of each evaluation is the number
    # of distinct samples stored in its window.
    When I create the alert rule:
      """
      {"name":"cpu samples","metric":"cpu.load","matchers":[{"tag":"host","op":"=","value":"web-1"}],
       "agg":"count","window":"10s","op":">=","threshold":1,"cadence":"1s","for":"0s"}
      """
    Then the answer is 201
    When its alert scheduler starts
    # Each second "reports" one sample without ts (it takes the clock's
    # time), ten dense samples 10 ms apart plus a repeat of the first one's
    # millisecond, and that request again (a resend): 23 samples accepted,
    # 11 distinct ones stored. Repeats are accepted but count once.
    When "cpu.load" of host "web-1" reports 0.97 each second for 1 second
    Then the alert of "cpu high" is "pending" since {{rfc3339 +1s}}, active since {{rfc3339 +1s}}
    And the alert of "cpu samples" is "firing" since {{rfc3339 +1s}}, active since {{rfc3339 +1s}}
    When "cpu.load" of host "web-1" reports 0.97 each second for 1 second
    Then the alert of "cpu high" is "pending" since {{rfc3339 +1s}}, active since {{rfc3339 +1s}}
    And "cpu high" has no episode
    And the outbox holds for "cpu high" exactly 0 "firing" and 0 "resolved" rows
    When "cpu.load" of host "web-1" reports 0.97 each second for 1 second
    Then the alert of "cpu high" is "firing" since {{rfc3339 +3s}}, active since {{rfc3339 +1s}}
    And "cpu high" has 1 episode, fired at {{rfc3339 +3s}}, not resolved, with the sample values 0.97
    And the outbox holds for "cpu high" exactly 1 "firing" and 0 "resolved" rows
    And the "firing" notification of "cpu high" reads the summary "web-1 is at 0.97"
    # 33 samples of 0.97 and 11 of 0.1 average 0.7525: healthy.
    When "cpu.load" of host "web-1" reports 0.1 each second for 2 seconds
    Then the alert of "cpu high" is "normal" since {{rfc3339 +4s}}, active since never
    And the history of "cpu high" is, oldest first:
      | from    | to      | at              | value  |
      | normal  | pending | {{rfc3339 +1s}} | 0.97   |
      | pending | firing  | {{rfc3339 +3s}} | 0.97   |
      | firing  | normal  | {{rfc3339 +4s}} | 0.7525 |
    And "cpu high" has 1 episode, fired at {{rfc3339 +3s}}, resolved at {{rfc3339 +4s}}, with the sample values 0.97, 0.7525
    And the outbox holds for "cpu high" exactly 1 "firing" and 1 "resolved" rows
    And the history of "cpu samples" is, oldest first:
      | from   | to     | at              | value |
      | normal | firing | {{rfc3339 +1s}} | 11    |
    And the alert of "cpu samples" is "firing" since {{rfc3339 +1s}}, active since {{rfc3339 +1s}}
    And the outbox holds for "cpu samples" exactly 1 "firing" and 0 "resolved" rows
    # Two rules, five seconds: each (rule, second) evaluated exactly once.
    And the scheduler has evaluated 10 times, every time "ok"

  Scenario: a rule with every field wrong is refused with 422 listing each field, and nothing is stored
    Given a tenant with a token scoped "ingest,read,admin"
    When I create the alert rule:
      """
      {"name":"","metric":"9cpu","matchers":[{"tag":"","op":"~","value":"x"}],"agg":"median",
       "window":"forever","op":"=>","cadence":"500ms","for":"-1s","keep_firing_for":"200h",
       "no_data":"maybe","group_by":["host","host"],"severity":"urgent","labels":{"":"x"},
       "annotations":{"summary":"{{ .Value"},"channels":[0]}
      """
    Then the answer is 422 listing exactly the fields:
      | name                |
      | metric              |
      | matchers[0]         |
      | agg                 |
      | window              |
      | op                  |
      | threshold           |
      | cadence             |
      | for                 |
      | keep_firing_for     |
      | no_data             |
      | group_by            |
      | severity            |
      | labels              |
      | annotations.summary |
      | channels            |
    And the tenant has no alert rule
    When I create the alert rule:
      """
      {"name":"too eager","metric":"cpu.load","window":"10s","op":">","threshold":1,"cadence":"5s"}
      """
    Then the answer is 422 listing exactly the fields:
      | cadence |
    When I preview the alert rule:
      """
      {"rule":{"name":"p","metric":"cpu.load","window":"1m","op":">"},"start":"yesterday"}
      """
    Then the answer is 422 listing exactly the fields:
      | threshold |
      | start     |
    And the tenant has no alert rule

  Scenario: a tenant never sees, changes or learns of another tenant's rule
    Given tenants "acme" and "globex", each with a token scoped "ingest,read,admin"
    And "acme" creates the alert rule:
      """
      {"name":"acme disk full","metric":"disk.used","agg":"max","window":"5m","op":">","threshold":0.95,"cadence":"1m"}
      """
    Then "globex" gets for every route of the rule "acme disk full" the answer to a rule that does not exist:
      | GET    | /api/alert-rules/{id}          |
      | PUT    | /api/alert-rules/{id}          |
      | DELETE | /api/alert-rules/{id}          |
      | POST   | /api/alert-rules/{id}/pause    |
      | POST   | /api/alert-rules/{id}/resume   |
      | GET    | /api/alert-rules/{id}/history  |
      | GET    | /api/alert-rules/{id}/episodes |
    And "globex" lists no alert rule, no alert and no outbox row
    And "globex" sees no alert of the rule "acme disk full"
    And "acme" still has the rule "acme disk full", unchanged and not paused
