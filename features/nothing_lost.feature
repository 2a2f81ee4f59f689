Feature: Every accepted sample is stored, once
  A 202 means the samples are kept: what the answer's "accepted" counts is
  what the store ends up holding. A series holds one value per millisecond
  and the first one written wins, so two samples of one series at one
  millisecond in the same request are refused (422, naming both), a sample
  without ts takes the arrival time of its own request or MQTT message, and
  a resend of a stored sample is counted as a duplicate, not stored twice.

  Background:
    Given a server of its own on the wall clock
    And a tenant with a token scoped "ingest,read"

  Scenario: 100 samples of one series 10 ms apart (a 100 Hz sensor) are all stored
    When I post 100 samples of "hz.sensor" 10 ms apart in one request
    Then the answer is 202 with a request_id and accepted 100
    And once the queue is drained "hz.sensor" still has 100 points

  Scenario: two samples of one series without ts in one request are refused, naming both
    When I post to /api/metrics:
      """
      [{"name":"dup.nots","value":1},{"name":"dup.nots","value":2}]
      """
    Then the answer is 422 with a JSON error
    And the errors list index 0 field "ts" with a message containing "sample 1"
    And the errors list index 1 field "ts" with a message containing "sample 0"
    And nothing is stored for "dup.nots"

  Scenario: two samples of one series at one ts in one request are refused, other series are not
    When I post to /api/metrics:
      """
      [{"name":"dup.ts","value":1,"ts":"{{rfc3339 -1m}}"},
       {"name":"dup.ts","value":2,"tags":{"host":"b"},"ts":"{{rfc3339 -1m}}"},
       {"name":"dup.ts","value":3,"ts":"{{rfc3339 -1m}}"}]
      """
    Then the answer is 422 with a JSON error
    And the errors list index 0 field "ts" with a message containing "sample 2"
    And the errors list index 2 field "ts" with a message containing "sample 0"
    And nothing is stored for "dup.ts"

  Scenario: samples without ts sent one per request in quick succession are all stored
    When I post 5 requests of one sample of "quick.nots" without ts, 3 ms apart
    Then once the queue is drained "quick.nots" still has 5 points

  Scenario: a resent sample is stored once and counted as a duplicate
    When I post to /api/metrics:
      """
      {"name":"resent","value":7,"ts":"{{rfc3339 -2m}}"}
      """
    And once the queue is drained I post to /api/metrics:
      """
      {"name":"resent","value":8,"ts":"{{rfc3339 -2m}}"}
      """
    Then the answer is 202 with a request_id and accepted 1
    And once the queue is drained "resent" still has 1 point
    And the query of "resent" shows a point at {{unixms -2m}} with value 7 and tags ""
    And within 5 seconds /metrics counts 1 duplicate sample of my tenant

  Scenario: a burst of dense, out-of-order, resent and timestamp-less samples is stored exactly
    When I post a burst of 40 requests of "burst" mixing dense, out-of-order, resent and timestamp-less samples
    Then every request of the burst is answered 202
    And once the queue is drained "burst" holds exactly the samples accepted, by count and by sum
    And within 5 seconds /metrics counts the burst's resent samples as duplicates of my tenant
