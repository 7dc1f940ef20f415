/**
 * The ids of everything the Genesys sandbox serves, shaped like real ones (custom actions are
 * `custom_-_<uuid>`, flows and queues are uuids). Fixed, not seeded. The job kinds' Swagger examples
 * name them, so "Try it out" works in sandbox mode; the sandbox (src/sandbox/fixtures.ts) builds its
 * fixtures on them. This small module is what both sides share: production code never imports the
 * sandbox itself.
 */
export const FIXTURE_IDS = {
  integrations: {
    webServices: 'fc76bd0f-519e-4acb-b925-41fec497058b',
    functions: '9ca7451a-602d-4fee-bb58-b9a688adb9d8'
  },
  actions: {
    echo: 'custom_-_770eb12e-1d7f-4cf7-b069-4dd02104866e',
    failing: 'custom_-_a656110d-e0e9-4841-9d28-245537b2c70a',
    platformError: 'custom_-_081485d5-8152-4249-944b-924262815e60',
    slow: 'custom_-_c7c7d5b4-ba82-43bf-9a8b-7023d387e31d',
    llm: 'custom_-_29ec3b59-fa5d-40b2-8e61-525693b278b6',
    /** A second model: answers as `llm` does, except that it repeats a prompt with the word `echo` in it unchanged. */
    llmVariant: 'custom_-_4b8f2a6e-3d1c-4e9b-8a7f-6c5d4e3b2a19',
    judge: 'custom_-_31a74b20-9e84-42e1-9c31-6e51592a03fe',
    /** Readable, but the sandbox's OAuth client lacks the permission to execute it: 403. */
    forbidden: 'custom_-_5e0c1c52-7c1b-4f59-9a57-0d2b8f7e6a13',
    fnGreeting: 'custom_-_cbd9c382-4299-4593-b7ba-db0cd7e2c739',
    fnPendingZip: 'custom_-_2a4a4186-fbc9-44c6-8f2d-00a5367bbcaa',
    fnRetiredRuntime: 'custom_-_93f814cf-5a06-40a5-9e3c-acfeda489f69'
  },
  flows: {
    completes: 'd90ffcb2-edde-46e3-80a5-dcf581ee22d7',
    fails: '606dbd51-2350-440a-8565-5685e5f64470',
    errors: '02593617-c26d-420a-9afa-bc7dcf22ea69',
    terminated: '7527c2ac-9dd4-495c-9fc1-ba8e148b6100',
    endless: 'd15c61a8-7048-42d5-8161-974e834e109f',
    noSchema: 'ae7961fe-395f-4ed5-8362-9afac8903b79'
  },
  queues: {
    support: 'dda9caa0-28d0-437d-a6d5-345ba693f4f3',
    sales: 'a4bc550b-9970-431e-9036-defab953b8c0',
    billing: 'a4f9de32-9f85-4281-a481-9db727e70dc7',
    retention: '7d71ba7f-53a0-47ba-a5bc-a169b4862c6b',
    technical: 'cee2d8a7-c3bc-4f96-82f3-eb8dc0a6dcf5',
    /** Not a queue: naming it in a job's filter makes the job end FAILED. */
    failing: '505c033f-fd22-4ecf-af47-e5f8c05f65b4',
    /** Not a queue: naming it in a job's filter makes the job end EXPIRED. */
    expiring: '3a9d2aa8-5dad-4aaa-a305-eec1c56966de'
  }
} as const
