Feature: Alert notifications
  A tenant's admin token creates notification channels over the API (POST
  /api/channels) and names them in its alert rules ("channels":[id]). Each
  notifying transition of a rule (firing, resolved) becomes one outbox row;
  the notification dispatcher expands it into one delivery per channel,
  groups a rule's deliveries per channel once the channel's group_wait has
  passed, holds what a silence mutes, spends the tenant's budget on the
  channel (PULSE_NOTIFY_PER_MINUTE, 10 a minute by default) and folds the
  rest into a digest, and sends: a failure is retried with backoff (5 s
  doubling to 30 min, with jitter; a Retry-After is honoured), a 4xx other
  than 408 and 429, or a 3xx, is final and the notification dead.

  A webhook channel posts Alertmanager's JSON (version "4", groupKey,
  alerts with labels, fingerprint, startsAt) signed as Standard Webhooks:
  webhook-id is "msg_" and the message's id, the same on every attempt;
  webhook-signature is "v1," and the HMAC-SHA256 of id.timestamp.body under
  the channel's whsec_ secret, which the channel's creation shows once.
  Notifications reach only https URLs on public addresses, except the
  host:port pairs of PULSE_NOTIFY_ALLOW_HOSTS.

  The scenarios that watch deliveries start, as alerting.feature's, a server
  of their own on a clock they move by hand, and a webhook receiver on
  127.0.0.1 (allowed by PULSE_NOTIFY_ALLOW_HOSTS) that records every request
  and answers as it is told. Each second they post that second's samples
  (one without ts, ten dense ones and a repeat of the first one's
  millisecond, that request twice: 23 accepted, 11 distinct stored), wait
  until they are stored, move the clock one second on, wait until the alert
  scheduler has evaluated every rule at the new second, and run the
  server's dispatcher until it has nothing left to do at that time, as its
  loops would within a tick. Every request the receiver got is checked to
  verify with its channel's secret. {{rfc3339 +3s}} is three seconds after
  the scenario's start; rules evaluate each second, read the last value of
  a 10 s window and fire at once ("for":"0s"); they keep their state while
  the clock jumps past their window ("no_data":"keep_last").

  Scenario: a firing and its resolution each reach the webhook once, signed, in Alertmanager's format
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And a tenant with a token scoped "ingest,read,admin"
    When I create the notification channel:
      """
      {"name":"ops hook","kind":"webhook","webhook":{"url":"{{receiver}}/ops"},"group_wait":"0s","send_resolved":true}
      """
    Then the answer is 201 with the channel's signing secret, shown once
    # A test message goes out at once, outside the queue, signed too.
    When I test the channel "ops hook"
    Then the test answer is delivered, with status 200
    And the receiver holds exactly 1 "firing" message of "Test notification from Pulse"
    When I create the notifying alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","matchers":[{"tag":"host","op":"=","value":"web-1"}],
       "agg":"last","window":"10s","op":">","threshold":0.9,"cadence":"1s","for":"0s","no_data":"keep_last",
       "annotations":{"summary":"{{ .Labels.host }} is at {{ .Value }}"},"channels":[{{channel ops hook}}]}
      """
    Then the answer is 201
    When its alert scheduler starts
    And for 1 second "cpu.load" of host "web-1" reports 0.97 each second
    Then the alert of "cpu high" is "firing" since {{rfc3339 +1s}}, active since {{rfc3339 +1s}}
    And the receiver holds exactly 1 "firing" message of "cpu high", with 1 alerts
    And its alert started at {{rfc3339 +1s}}
    When for 1 second "cpu.load" of host "web-1" reports 0.1 each second
    Then the alert of "cpu high" is "normal" since {{rfc3339 +2s}}, active since never
    And the receiver holds exactly 1 "resolved" message of "cpu high", with 1 alerts
    And its alert started at {{rfc3339 +1s}}, and ended at {{rfc3339 +2s}}
    # Nothing else: the test, the firing and the resolution.
    When for 3 seconds "cpu.load" of host "web-1" reports 0.1 each second
    Then the receiver has received 3 requests
    And the receiver holds exactly 1 "firing" message of "cpu high"
    And the outbox holds for "cpu high" exactly 1 "firing" and 1 "resolved" rows
    And GET /api/notifications lists:
      | rule     | channel  | kind   | status | items | attempts | last_status | last_error |
      | cpu high | ops hook | alerts | sent   | 1     | 1        | 200         |            |
      | cpu high | ops hook | alerts | sent   | 1     | 1        | 200         |            |
    And 115 samples of "cpu.load" of host "web-1" were accepted and 55 stored

  Scenario: a receiver's 500 is retried after the backoff, under the same webhook-id
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And a tenant with a token scoped "ingest,read,admin"
    When I create the notification channel:
      """
      {"name":"ops hook","kind":"webhook","webhook":{"url":"{{receiver}}/ops"},"group_wait":"0s"}
      """
    And I create the notifying alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","agg":"last","window":"10s","op":">","threshold":0.9,
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel ops hook}}]}
      """
    Then the answer is 201
    When its alert scheduler starts
    And the receiver answers 500 once, then 200
    And for 1 second "cpu.load" of host "web-1" reports 0.97 each second
    Then the receiver has received 1 request
    And GET /api/notifications?status=queued lists:
      | rule     | channel  | kind   | status | attempts | last_status | last_error            |
      | cpu high | ops hook | alerts | queued | 1        | 500         | Internal Server Error |
    # The first retry waits 5 s, give or take a fifth: not before 4 s, by 6 s.
    When for 3 seconds "cpu.load" of host "web-1" reports 0.97 each second
    Then the receiver has received 1 request
    When for 3 seconds "cpu.load" of host "web-1" reports 0.97 each second
    Then the receiver has received 2 requests, all with one webhook-id
    And the receiver holds exactly 2 "firing" messages of "cpu high", with 1 alerts
    And GET /api/notifications?status=sent lists:
      | rule     | channel  | kind   | status | items | attempts | last_status |
      | cpu high | ops hook | alerts | sent   | 1     | 2        | 200         |
    And 161 samples of "cpu.load" of host "web-1" were accepted and 77 stored

  Scenario: a receiver's 410 makes the notification dead until it is retried by hand
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And a tenant with a token scoped "ingest,read,admin"
    When I create the notification channel:
      """
      {"name":"ops hook","kind":"webhook","webhook":{"url":"{{receiver}}/ops"},"group_wait":"0s"}
      """
    And I create the notifying alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","agg":"last","window":"10s","op":">","threshold":0.9,
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel ops hook}}]}
      """
    Then the answer is 201
    When its alert scheduler starts
    And the receiver answers 410
    And for 1 second "cpu.load" of host "web-1" reports 0.97 each second
    Then the receiver has received 1 request
    And GET /api/notifications?status=dead lists:
      | rule     | channel  | kind   | status | items | attempts | last_status | last_error | next_attempt_at |
      | cpu high | ops hook | alerts | dead   | 1     | 1        | 410         | Gone       | null            |
    When the clock moves on 60 seconds
    Then the receiver has received 1 request
    When the receiver answers 200
    And I retry the notification of "cpu high"
    Then the answer is 204
    And the receiver has received 2 requests, all with one webhook-id
    And GET /api/notifications lists:
      | rule     | channel  | kind   | status | items | attempts | last_status | last_error |
      | cpu high | ops hook | alerts | sent   | 1     | 1        | 200         |            |
    And 23 samples of "cpu.load" of host "web-1" were accepted and 11 stored

  Scenario: a receiver's Retry-After is honoured
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And a tenant with a token scoped "ingest,read,admin"
    When I create the notification channel:
      """
      {"name":"ops hook","kind":"webhook","webhook":{"url":"{{receiver}}/ops"},"group_wait":"0s"}
      """
    And I create the notifying alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","agg":"last","window":"10s","op":">","threshold":0.9,
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel ops hook}}]}
      """
    Then the answer is 201
    When its alert scheduler starts
    And the receiver answers 503 with Retry-After: 120 once, then 200
    And for 1 second "cpu.load" of host "web-1" reports 0.97 each second
    Then the receiver has received 1 request
    And GET /api/notifications?status=queued lists:
      | rule     | status | attempts | last_status | next_attempt_at   |
      | cpu high | queued | 1        | 503         | {{rfc3339 +121s}} |
    When the clock moves on 119 seconds
    Then the receiver has received 1 request
    When the clock moves on 1 second
    Then the receiver has received 2 requests, all with one webhook-id
    And GET /api/notifications?status=sent lists:
      | rule     | status | attempts | last_status |
      | cpu high | sent   | 2        | 200         |

  Scenario: a redirect is not followed, and makes the notification dead
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And a webhook receiver "other" on 127.0.0.1, one the server may not call
    And a tenant with a token scoped "ingest,read,admin"
    When I create the notification channel:
      """
      {"name":"ops hook","kind":"webhook","webhook":{"url":"{{receiver}}/ops"},"group_wait":"0s"}
      """
    And I create the notifying alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","agg":"last","window":"10s","op":">","threshold":0.9,
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel ops hook}}]}
      """
    Then the answer is 201
    When its alert scheduler starts
    And the receiver answers 302 to the receiver "other"
    And for 2 seconds "cpu.load" of host "web-1" reports 0.97 each second
    Then the receiver has received 1 request
    And the receiver "other" has received nothing
    And GET /api/notifications?status=dead lists:
      | rule     | status | attempts | last_status |
      | cpu high | dead   | 1        | 302         |

  Scenario: a silence holds the notification while it lasts; the still-firing alert is notified once it ends
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And a tenant with a token scoped "ingest,read,admin"
    When I create the notification channel:
      """
      {"name":"ops hook","kind":"webhook","webhook":{"url":"{{receiver}}/ops"},"group_wait":"0s"}
      """
    And I create the notifying alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","agg":"last","window":"10s","op":">","threshold":0.9,
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel ops hook}}]}
      """
    Then the answer is 201
    When I create the silence:
      """
      {"rule_id":{{rule cpu high}},"matchers":[{"tag":"host","op":"=","value":"web-1"}],"duration":"1m","comment":"maintenance"}
      """
    Then the silence is active until {{rfc3339 +60s}}
    When its alert scheduler starts
    And for 2 seconds "cpu.load" of host "web-1" reports 0.97 each second
    # The alert's state is recorded as ever: only its notification waits.
    Then the alert of "cpu high" is "firing" since {{rfc3339 +1s}}, active since {{rfc3339 +1s}}
    And the outbox holds for "cpu high" exactly 1 "firing" and 0 "resolved" rows
    And the receiver has received nothing
    And GET /api/notifications lists:
      | rule | status |
    When the clock moves on 57 seconds
    Then the receiver has received nothing
    When the clock moves on 1 second
    Then the receiver holds exactly 1 "firing" message of "cpu high", with 1 alerts
    And its alert started at {{rfc3339 +1s}}
    When for 3 seconds "cpu.load" of host "web-1" reports 0.97 each second
    Then the receiver has received 1 request
    And the alert of "cpu high" is "firing" since {{rfc3339 +1s}}, active since {{rfc3339 +1s}}

  Scenario: with a group_wait, the instances of a rule that fire together arrive in one message
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And a tenant with a token scoped "ingest,read,admin"
    When I create the notification channel:
      """
      {"name":"ops hook","kind":"webhook","webhook":{"url":"{{receiver}}/ops"},"group_wait":"5s"}
      """
    And I create the notifying alert rule:
      """
      {"name":"cpu high","metric":"cpu.load","agg":"last","window":"10s","op":">","threshold":0.9,"group_by":["host"],
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel ops hook}}]}
      """
    Then the answer is 201
    When its alert scheduler starts
    # Both fire at +1s; the group goes out 5 s later.
    And for 4 seconds "cpu.load" of hosts "web-1" and "web-2" report 0.97 each second
    Then the receiver has received nothing
    When for 1 second "cpu.load" of hosts "web-1" and "web-2" report 0.97 each second
    Then the receiver has received nothing
    When for 1 second "cpu.load" of hosts "web-1" and "web-2" report 0.97 each second
    Then the receiver holds exactly 1 "firing" message of "cpu high", with 2 alerts
    And its alerts are those of hosts "web-1" and "web-2"
    And its alerts started at {{rfc3339 +1s}}
    When for 2 seconds "cpu.load" of hosts "web-1" and "web-2" report 0.97 each second
    Then the receiver has received 1 request
    And 184 samples of "cpu.load" of host "web-2" were accepted and 88 stored

  Scenario: a flood of one tenant costs its channel its budget and a digest, loses nothing, and does not delay another tenant
    Given a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call
    And tenants "acme" and "globex", each with a token scoped "ingest,read,admin"
    When "acme" creates the notification channel:
      """
      {"name":"acme hook","kind":"webhook","webhook":{"url":"{{receiver}}/acme"},"group_wait":"0s"}
      """
    And "globex" creates the notification channel:
      """
      {"name":"globex hook","kind":"webhook","webhook":{"url":"{{receiver}}/globex"},"group_wait":"0s"}
      """
    And "acme" creates 30 notifying alert rules, "{n}" from 01:
      """
      {"name":"disk {n}","metric":"disk.used","agg":"last","window":"10s","op":">","threshold":0.9,
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel acme hook}}]}
      """
    And "globex" creates the notifying alert rule:
      """
      {"name":"globex disk","metric":"disk.used","agg":"last","window":"10s","op":">","threshold":0.9,
       "cadence":"1s","for":"0s","no_data":"keep_last","channels":[{{channel globex hook}}]}
      """
    Then the answer is 201
    When its alert scheduler starts
    And for 1 second these report each second:
      | tenant | metric    | host | value |
      | acme   | disk.used | db-1 | 0.99  |
      | globex | disk.used | db-1 | 0.99  |
    # 31 rules fire at +1s: acme's channel takes 10 of its 30 a minute.
    Then the channel "acme hook" has received 10 messages of one alert each and no digest
    And the channel "globex hook" has received 1 message of one alert each and no digest
    When the clock moves on 59 seconds
    Then the channel "acme hook" has received 10 messages of one alert each and no digest
    # A minute after the first ten, the other twenty in one digest.
    When the clock moves on 1 second
    Then the channel "acme hook" has received 10 messages of one alert each and 1 digest of 20 alerts
    And the alerts "disk 01" to "disk 30" each reached the channel "acme hook" exactly once
    And the channel "globex hook" has received 1 message of one alert each and no digest

  Scenario: channels that would reach private addresses, another tenant's channel and a read-only token are refused; the secret is never shown again
    Given tenants "acme" and "globex", each with a token scoped "ingest,read,admin"
    And "acme" has a second token, scoped "read", known as "acme viewer"
    When "acme" creates the notification channel:
      """
      {"name":"metadata","kind":"webhook","webhook":{"url":"https://169.254.169.254/latest"}}
      """
    Then the answer is 422 listing exactly the fields:
      | webhook.url |
    When "acme" creates the notification channel:
      """
      {"name":"intranet","kind":"webhook","webhook":{"url":"http://10.0.0.1/"}}
      """
    Then the answer is 422 listing exactly the fields:
      | webhook.url |
    When "acme" creates the notification channel:
      """
      {"name":"acme hook","kind":"webhook","webhook":{"url":"https://hooks.example.com/pulse"}}
      """
    Then the answer is 201 with the channel's signing secret, shown once
    When "acme viewer" creates the notification channel:
      """
      {"name":"viewer hook","kind":"webhook","webhook":{"url":"https://hooks.example.com/viewer"}}
      """
    Then the answer is 403
    When "globex" creates the notifying alert rule:
      """
      {"name":"borrowed","metric":"disk.used","window":"5m","op":">","threshold":0.9,"cadence":"1m","channels":[{{channel acme hook}}]}
      """
    Then the answer is 422 listing exactly the fields:
      | channels[0] |
    When "acme" creates the notifying alert rule:
      """
      {"name":"own","metric":"disk.used","window":"5m","op":">","threshold":0.9,"cadence":"1m","channels":[{{channel acme hook}}]}
      """
    Then the answer is 201
    And no answer of GET /api/channels or GET /api/channels/{id} shows the secret of "acme hook"
    And "globex" lists no channel, and GET /api/channels/{id} of "acme hook" answers 404
