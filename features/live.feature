Feature: Live streams of new points
  GET /api/metrics/stream (a token scoped "read") is a Server-Sent Events
  stream of the points committed after it opened, filtered on the server by
  the token's tenant, the metric name and the tags: `?name=cpu&tag.host=a`
  is one query, `?q=<URL-encoded query>&q=…` several. The first event is
  "ready"; each "points" event names its query (q) and carries series with
  their tags and points (ts in Unix ms, value). Every event has an id; a
  client that reconnects with it (the Last-Event-ID header, or the
  last_event_id parameter) gets exactly the points it missed. A revoked
  token or a disabled tenant ends the stream with an "end" event.

  The features' server allows 3 streams per tenant
  (PULSE_LIVE_MAX_STREAMS_PER_TENANT=3, see features_test.go); a fourth is
  refused with 429 naming the limit.

  Scenario: a point posted after the stream opened arrives, for its query only
    Given a tenant with a token scoped "ingest,read"
    And I open a live stream of the queries:
      """
      name=live.cpu&tag.host=a
      name=live.mem
      """
    Then the live stream is ready with 2 queries
    When I post to /api/metrics:
      """
      [{"name":"live.cpu","value":42.5,"tags":{"host":"a","dc":"eu"},"ts":{{unixms -2s}}},
       {"name":"live.cpu","value":7,"tags":{"host":"b"},"ts":{{unixms -2s}}},
       {"name":"live.mem","value":0.25,"tags":{"host":"b"},"ts":{{unixms -1s}}}]
      """
    Then the answer is 202 with a request_id and accepted 3
    And within 3 seconds the live stream has a point of query 0 at {{unixms -2s}} with value 42.5 and tags "dc=eu,host=a"
    And within 3 seconds the live stream has a point of query 1 at {{unixms -1s}} with value 0.25 and tags "host=b"
    And the live stream has no point with value 7

  Scenario: dense, out-of-order, resent and timestamp-less samples arrive once each, as stored
    Given a tenant with a token scoped "ingest,read"
    And I open a live stream of "live.dense"
    When I post 50 samples of "live.dense", one request each 10 ms apart, out of order, some without ts, then resend one
    Then within 5 seconds the live stream has every point accepted for "live.dense", once each, with the sum of their values
    And those are the points the query API returns for "live.dense"

  Scenario Outline: a client resuming with the last event id gets exactly the points it missed
    Given a tenant with a token scoped "ingest,read"
    And I open a live stream of "live.resume"
    When I post the values 1 of "live.resume", one request each
    Then within 3 seconds the live stream has received exactly the values 1
    When I close the live stream
    And I post the values 2,3,4 of "live.resume", one request each
    Then within a second "live.resume" has 4 points
    When I reopen the live stream with the last event id it received, in <where>
    Then within 3 seconds the live stream has received exactly the values 2,3,4

    Examples:
      | where                       |
      | the Last-Event-ID header    |
      | the last_event_id parameter |

  Scenario: a tenant's stream never carries another tenant's points of the same metric
    Given tenants "acme" and "globex", each with a token scoped "ingest,read"
    And "acme" opens a live stream of "live.shared"
    And "globex" opens a live stream of "live.shared"
    When "acme" posts {"name":"live.shared","value":7,"tags":{"host":"a"}}
    And "globex" posts {"name":"live.shared","value":9,"tags":{"host":"a"}}
    Then within 3 seconds the live stream of "acme" has received exactly the values 7
    And within 3 seconds the live stream of "globex" has received exactly the values 9

  Scenario: revoking the token ends its stream
    Given a tenant with a token scoped "ingest,read"
    And I open a live stream of "live.revoke"
    When my token is revoked by DELETE /api/tokens/{id} with an admin token of my tenant
    Then the answer is 204
    And within 5 seconds the live stream ends with an "end" event and its connection closes

  Scenario: disabling the tenant ends its streams
    Given a tenant with a token scoped "ingest,read"
    And I open a live stream of "live.disable"
    When my tenant is disabled by PATCH /api/admin/tenants/{slug} with a platform token
    Then the answer is 200
    And within 5 seconds the live stream ends with an "end" event and its connection closes

  Scenario: a tenant's streams beyond the cap are refused with 429, naming the limit
    Given a tenant with a token scoped "read"
    When I open 3 live streams of "live.cap"
    And I try to open one more live stream of "live.cap"
    Then the answer is 429 with a JSON error naming the limit "streams per tenant" of 3
    And the answer carries a Retry-After of 1 to 60 seconds
    When I close one of my live streams
    Then within 2 seconds another live stream of "live.cap" opens
