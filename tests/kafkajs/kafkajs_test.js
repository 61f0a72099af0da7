// kafkajs_test.js: kafkajs (a third, independent Kafka client) against a strom node's Kafka port:
// a producer sends COUNT keyed messages with headers to a topic of 3 partitions (acks=all, gzip
// for half of them), then a consumer group of two members reads them all; every message must
// arrive once or more with its key, value and header. Usage: node kafkajs_test.js BROKER TOPIC
// GROUP [COUNT]. Prints "kafkajs: produced N consumed N distinct N" and exits 0, or 1.
'use strict';
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const [broker, topic, group, countArg] = process.argv.slice(2);
const count = Number(countArg || 1000);
const kafka = new Kafka({ clientId: 'kafkajs-test', brokers: [broker], logLevel: logLevel.NOTHING });

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
  await admin.disconnect();

  const producer = kafka.producer();
  await producer.connect();
  for (let b = 0; b < count; b += 100) {
    const messages = [];
    for (let i = b; i < Math.min(b + 100, count); i++) {
      messages.push({ key: `k${i}`, value: `v${i}`, partition: i % 3, headers: { n: `${i}` } });
    }
    const compression = (b / 100) % 2 ? CompressionTypes.GZIP : CompressionTypes.None;
    await producer.send({ topic, messages, acks: -1, compression });
  }
  await producer.disconnect();

  const seen = new Uint8Array(count);
  let consumed = 0, distinct = 0, wrong = 0;
  // A fetch waits at most 200 ms for data (kafkajs waits 5 s by default, and disconnect waits
  // for the fetch in flight) and members heartbeat every 500 ms (3 s by default), so that the
  // test does not wait out client timers; the requests and the broker's answers are the same.
  const options = { groupId: group, maxWaitTimeInMs: 200, heartbeatInterval: 500 };
  const members = [kafka.consumer(options), kafka.consumer(options)];
  let done;
  const all = new Promise((resolve) => { done = resolve; });
  for (const c of members) {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachMessage: async ({ partition, message }) => {
        const i = Number(message.headers.n.toString());
        const ok = message.key.toString() === `k${i}` && message.value.toString() === `v${i}` &&
                   partition === i % 3;
        wrong += ok ? 0 : 1;
        consumed++;
        if (!seen[i]) { seen[i] = 1; distinct++; }
        if (distinct === count) done();
      },
    });
  }
  const timer = setTimeout(() => done(), 60000);
  await all;
  clearTimeout(timer);
  for (const c of members) await c.disconnect();
  console.log(`kafkajs: produced ${count} consumed ${consumed} distinct ${distinct} wrong ${wrong}`);
  process.exit(distinct === count && wrong === 0 ? 0 : 1);
}

main().catch((e) => { console.error('kafkajs: FAIL:', e); process.exit(1); });
