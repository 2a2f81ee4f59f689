Feature: Ingest over MQTT through the embedded broker
  A device publishes samples to metrics/<its tenant's slug>/<anything>, with
  the username pulse_<token id> and the whole token as the password; the
  payload is one sample or an array, the same JSON as POST /api/metrics.
  The broker lets a token publish only under its own tenant and only with
  the "ingest" scope, and subscribe only to its tenant's topics and only with
  the "read" scope; revoking a token or disabling its tenant closes its open
  connections within 5 seconds. The ingestor rejects (and counts) what fails
  validation; every publish is charged to its token's quota.
  In the steps, <my tenant> and <tenant b> stand for the slugs of the
  scenario's tenants.

  Scenario: A token publishes one sample to its tenant's topic
    Given a tenant with a token scoped "ingest,read"
    When I publish to "metrics/<my tenant>/app":
      """
      {"name":"mqtt.cpu.load","value":0.42,"tags":{"host":"a"},"ts":"{{rfc3339 -5m}}"}
      """
    Then within 5 seconds "mqtt.cpu.load" has 1 point
    And the query of "mqtt.cpu.load" shows a point at {{unixms -5m}} with value 0.42 and tags "host=a"

  Scenario: The agent publishes an array to its agent topic
    Given a tenant with a token scoped "ingest,read"
    When I publish to "metrics/<my tenant>/system/agent-7":
      """
      [{"name":"mqtt.agent.mem","value":1,"tags":{"agent":"7"},"ts":{{unix -3m}}},
       {"name":"mqtt.agent.mem","value":2,"tags":{"agent":"7"},"ts":{{unix -2m}}},
       {"name":"mqtt.agent.mem","value":3,"tags":{"agent":"7"},"ts":{{unixms -1m}}}]
      """
    Then within 5 seconds "mqtt.agent.mem" has 3 points
    And the query of "mqtt.agent.mem" shows a point at {{unixms -2m}} with value 2 and tags "agent=7"

  Scenario Outline: A client that fails authentication is refused, even if it publishes before the answer
    Given a tenant with a token scoped "ingest,read"
    And the token is revoked if <revoked>
    When I connect with <credentials> and publish a sample of "mqtt.refused" at once
    Then the connection is refused
    And once a later publish of mine has arrived, there is no point of "mqtt.refused"

    Examples:
      | credentials                          | revoked |
      | a wrong password                     | no      |
      | the password of another token        | no      |
      | no password                          | no      |
      | my token under another token's name  | no      |
      | my token                             | yes     |

  Scenario: A token scoped "read" only may connect but cannot publish
    Given a tenant with a token scoped "read"
    When I connect with my token and publish a sample of "mqtt.readonly" at once
    Then the connection is accepted but the publish is not acknowledged
    And once a later publish of mine has arrived, there is no point of "mqtt.readonly"

  Scenario: A token scoped "ingest" only cannot read its own tenant's messages
    Given a tenant with a token scoped "ingest"
    And my tenant has a second token "other device" scoped "ingest,read"
    When I subscribe to "metrics/<my tenant>/#"
    Then the subscription is refused
    When "other device" publishes to "metrics/<my tenant>/app":
      """
      {"name":"mqtt.device.secret","value":1}
      """
    Then within 5 seconds "other device" sees 1 point of "mqtt.device.secret"
    And I have received no message

  Scenario: A token scoped "read" subscribes to its tenant's topics and receives them
    Given a tenant with a token scoped "ingest"
    And my tenant has a second token "dashboard" scoped "read"
    When "dashboard" subscribes to "metrics/<my tenant>/#"
    Then the subscription is granted
    When I publish to "metrics/<my tenant>/app":
      """
      {"name":"mqtt.watched","value":1}
      """
    Then within 5 seconds "dashboard" has received a message on "metrics/<my tenant>/app"

  Scenario: Revoking a token closes its open connection within 5 seconds
    Given a tenant with a token scoped "ingest,read"
    And I am connected
    When the token is revoked
    Then within 5 seconds my connection is closed

  Scenario: Disabling a tenant closes its tokens' open connections within 5 seconds
    Given a tenant with a token scoped "ingest,read"
    And I am connected
    When my tenant is disabled
    Then within 5 seconds my connection is closed

  Scenario: A token cannot publish to another tenant's topic
    Given tenants "a" and "b", each with a token scoped "ingest,read"
    When "a" tries to publish to "metrics/<tenant b>/app":
      """
      {"name":"mqtt.cross","value":13}
      """
    And "a" tries to publish to "metrics/#":
      """
      {"name":"mqtt.cross","value":14}
      """
    And "a" tries to publish to "metrics/<tenant a>":
      """
      {"name":"mqtt.cross","value":15}
      """
    Then once a later publish of "a" has arrived, "b" sees no series of "mqtt.cross"
    And "a" sees no series of "mqtt.cross"
    And once a later publish of "b" has arrived, "b" sees no series of "mqtt.cross"

  Scenario: A token cannot read other tenants' messages
    Given tenants "a" and "b", each with a token scoped "ingest,read"
    When "a" subscribes to "metrics/#"
    Then the subscription is refused
    When "a" subscribes to "metrics/+/app"
    Then the subscription is refused
    When "a" subscribes to "metrics/<tenant b>/#"
    Then the subscription is refused
    When "b" publishes to "metrics/<tenant b>/app":
      """
      {"name":"mqtt.secret","value":7}
      """
    Then within 5 seconds "b" sees 1 point of "mqtt.secret"
    And "a" has received no message

  Scenario: A shared subscription cannot read another tenant's messages
    Given tenants "a" and "b", each with a token scoped "ingest,read"
    When "a" subscribes to "$share/g/metrics/<tenant b>/#"
    Then the subscription is refused
    When "b" publishes to "metrics/<tenant b>/app":
      """
      {"name":"mqtt.shared.secret","value":7}
      """
    Then within 5 seconds "b" sees 1 point of "mqtt.shared.secret"
    And "a" has received no message

  Scenario: An invalid payload is counted and the next valid one still arrives
    Given a tenant with a token scoped "ingest,read"
    When I publish to "metrics/<my tenant>/app":
      """
      {"name":"mqtt.bad", "value":
      """
    And I publish to "metrics/<my tenant>/app":
      """
      {"name":"mqtt bad name","value":1}
      """
    And I publish to "metrics/<my tenant>/app":
      """
      {"name":"mqtt.bad","value":"NaN"}
      """
    Then within 5 seconds /metrics counts 3 rejected MQTT messages of my tenant
    When I publish to "metrics/<my tenant>/app":
      """
      {"name":"mqtt.good","value":1}
      """
    Then within 5 seconds "mqtt.good" has 1 point
    And there is no point of "mqtt.bad"

  Scenario: A token over its quota has its message dropped; another token is unaffected
    Given a server of its own
    And tenant "a" with a token scoped "ingest,read" and its own quota of 5 samples per minute
    And "a" has a second token "a2" with its own quota of 5 samples per minute
    When "a" publishes 5 samples of "mqtt.quota" numbered from 0
    Then within 5 seconds "a" sees 5 points of "mqtt.quota"
    When "a" publishes 1 sample of "mqtt.quota" numbered from 5
    Then within 5 seconds /metrics counts 1 MQTT publish refused for "quota"
    When "a2" publishes 5 samples of "mqtt.quota" numbered from 10
    Then within 5 seconds "a" sees 10 points of "mqtt.quota"
    And once the queue is drained "a" still has 10 points of "mqtt.quota", none numbered 5

  Scenario: A message of 100 samples of one series 10 ms apart is stored whole
    Given a tenant with a token scoped "ingest,read"
    When I publish 100 samples of "mqtt.hz" 10 ms apart in one message to "metrics/<my tenant>/sensor"
    Then within 5 seconds "mqtt.hz" has 100 points

  Scenario: Messages without ts published one right after the other each keep their sample
    Each message takes its own arrival time; messages of one series that
    arrive within one millisecond take the next free ones.
    Given a tenant with a token scoped "ingest,read"
    When I publish 5 messages of one sample of "mqtt.nots" without ts to "metrics/<my tenant>/sensor", one right after the other
    Then within 5 seconds "mqtt.nots" has 5 points
