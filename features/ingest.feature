Feature: Ingesting samples over HTTP
  Machine clients push samples with POST /api/metrics and read them back with
  GET /api/metrics/query. An accepted request answers 202 with a request id and
  the number of samples accepted; the samples are queryable shortly after. An
  invalid request answers 422 listing every bad field by sample index, and
  nothing of it is stored.

  Timestamps in the bodies below are written relative to the moment the
  scenario starts: {{rfc3339 -5m}} is five minutes ago as an RFC 3339 string,
  {{unix -5m}} the same instant in Unix seconds, {{unixms -5m}} in Unix
  milliseconds.

  Background:
    Given a tenant with a token scoped "ingest,read"

  Scenario: a single sample is accepted and can be queried
    When I post to /api/metrics:
      """
      {"name":"cpu.load","value":0.42,"tags":{"host":"a"},"ts":"{{rfc3339 -5m}}"}
      """
    Then the answer is 202 with a request_id and accepted 1
    And within a second "cpu.load" has 1 point
    And the query of "cpu.load" shows a point at {{unixms -5m}} with value 0.42 and tags "host=a"

  Scenario: a bulk array is accepted as one request
    When I post to /api/metrics:
      """
      [
        {"name":"cpu.load","value":1,"tags":{"host":"a"},"ts":"{{rfc3339 -3m}}"},
        {"name":"cpu.load","value":2,"tags":{"host":"a"},"ts":"{{rfc3339 -2m}}"},
        {"name":"cpu.load","value":3,"tags":{"host":"a"},"ts":"{{rfc3339 -1m}}"}
      ]
      """
    Then the answer is 202 with a request_id and accepted 3
    And within a second "cpu.load" has 3 points

  Scenario Outline: every timestamp format lands on the same instant
    When I post to /api/metrics:
      """
      {"name":"temp","value":21.5,"ts":<ts>}
      """
    Then the answer is 202 with a request_id and accepted 1
    And within a second "temp" has 1 point
    And the query of "temp" shows a point at {{unixms -7m}} with value 21.5 and tags ""

    Examples:
      | ts                |
      | "{{rfc3339 -7m}}" |
      | {{unix -7m}}      |
      | {{unixms -7m}}    |

  Scenario: a sample without ts takes the server's clock
    When I post to /api/metrics:
      """
      {"name":"uptime","value":1}
      """
    Then the answer is 202 with a request_id and accepted 1
    And within a second "uptime" has 1 point
    And the point of "uptime" is no more than a minute away from the scenario's start

  Scenario: one series per tag set, and tag filters select series
    When I post to /api/metrics:
      """
      [
        {"name":"cpu.load","value":1,"tags":{"host":"a","dc":"eu"},"ts":"{{rfc3339 -4m}}"},
        {"name":"cpu.load","value":2,"tags":{"host":"a","dc":"eu"},"ts":"{{rfc3339 -3m}}"},
        {"name":"cpu.load","value":3,"tags":{"host":"b","dc":"eu"},"ts":"{{rfc3339 -3m}}"},
        {"name":"cpu.load","value":4,"tags":{"host":"c","dc":"us"},"ts":"{{rfc3339 -3m}}"}
      ]
      """
    Then the answer is 202 with a request_id and accepted 4
    And within a second "cpu.load" has 4 points
    And the query of "cpu.load" has 3 series
    And the query of "cpu.load" with "tag.host=a" has 1 series with 2 points
    And the query of "cpu.load" with "tag.dc=eu" has 2 series with 3 points
    And the query of "cpu.load" with "tag.dc=eu&tag.host=b" has 1 series with 1 point
    And the query of "cpu.load" with "tag.host=zzz" has 0 series with 0 points

  Scenario Outline: an invalid field is refused with 422 and nothing is stored
    When I post to /api/metrics:
      """
      [
        {"name":"cpu.load","value":1,"ts":"{{rfc3339 -5m}}"},
        <bad>
      ]
      """
    Then the answer is 422 with a JSON error
    And the errors list index 1 field "<field>"
    And nothing is stored for "cpu.load"

    Examples:
      | bad                                                      | field |
      | {"name":"cpu.load","value":"0.5","ts":"{{rfc3339 -4m}}"} | value |
      | {"name":"cpu.load","value":NaN,"ts":"{{rfc3339 -4m}}"}   | value |
      | {"name":"cpu.load","value":null,"ts":"{{rfc3339 -4m}}"}  | value |
      | {"name":"cpu.load","ts":"{{rfc3339 -4m}}"}               | value |
      | {"name":"9cpu load","value":1,"ts":"{{rfc3339 -4m}}"}    | name  |
      | {"value":1,"ts":"{{rfc3339 -4m}}"}                       | name  |
      | {"name":"cpu.load","value":1,"ts":"{{rfc3339 +1h}}"}     | ts    |
      | {"name":"cpu.load","value":1,"ts":"yesterday"}           | ts    |

  Scenario: every bad field of every sample is listed at once
    When I post to /api/metrics:
      """
      [
        {"name":"ok","value":1},
        {"name":"","value":"x"},
        {"name":"cpu.load","value":1,"ts":"{{rfc3339 +1h}}"}
      ]
      """
    Then the answer is 422 with a JSON error
    And the errors list index 1 field "name"
    And the errors list index 1 field "value"
    And the errors list index 2 field "ts"
    And nothing is stored for "ok"

  Scenario: malformed JSON is refused with 422 and nothing is stored
    When I post to /api/metrics:
      """
      [{"name":"cpu.load","value":1,"ts":"{{rfc3339 -5m}}"}, {"name":
      """
    Then the answer is 422 with a JSON error
    And the errors list index 0 field "body"
    And nothing is stored for "cpu.load"

  Scenario: a body over the size limit is refused with 413
    When I post a body of 6 MiB to /api/metrics
    Then the answer is 413 with a JSON error naming the limit "max_body_bytes"

  Scenario: more samples than allowed in one request is refused with 413
    When I post 10001 samples of "cpu.load" in one request
    Then the answer is 413 with a JSON error naming the limit "samples_per_request"
    And nothing is stored for "cpu.load"
