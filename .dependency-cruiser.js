// The layers of src/, checked by `npm run lint` (depcruise src): a module imports only its own
// folder and the floors below it, never one above or beside it, and no import cycle. The order
// is stated once, here; each floor gets one rule made from it.

/**
 * From the ground up. Folders on one floor are strangers: they import neither each other nor
 * anything above. A file path is matched from `src/`.
 */
const FLOORS = [
  // the queue's model (snapshot, statuses, ages, strategy: pure, no I/O); the process's logger,
  // secret registry and version; rendezvous ownership of portals; PHP's query encoding (the
  // REST client's and the simulated application's)
  { queue: 'queue/', runtime: 'runtime/', shard: 'shard/', php: 'php/' },
  { config: 'config/' },
  // the REST client: transport, retries, OAuth, the token file
  { b24: 'b24/' },
  // token pairs in Redis
  { tokens: 'tokens/' },
  // the strategies, the poller and its observer interface, the scheduler
  { poll: 'poll/' },
  // prom-client series: implements the observers of b24/ and poll/
  { metrics: 'metrics/' },
  { http: 'http/' },
  // the composition root
  { app: 'app\\.ts$' },
  { demo: 'demo\\.ts$' },
  { cli: '(cli/|cli\\.ts$)' },
];

/** The simulated portal, a test tool: it may use the ground floor only. */
const SIM = 'sim/';
/** The one module of the monitor that may start the simulated portal. */
const SIM_USERS = ['demo'];

const ground = FLOORS[0];
const anyOf = (paths) => `^src/(${paths.join('|')})`;

const layerRules = FLOORS.flatMap((floor, level) =>
  Object.entries(floor).map(([name, path]) => {
    const below = FLOORS.slice(0, level).flatMap((lower) => Object.entries(lower));
    if (SIM_USERS.includes(name)) below.push(['sim', SIM]);
    return {
      name: `layer-${name}`,
      comment: `${name} may import only ${below.map(([n]) => n).join(', ') || 'itself'}`,
      severity: 'error',
      from: { path: anyOf([path]) },
      to: { path: '^src/', pathNot: anyOf([path, ...below.map(([, p]) => p)]) },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...layerRules,
    {
      name: 'layer-sim',
      comment: `sim (the simulated portal) may import only ${Object.keys(ground).join(', ')}`,
      severity: 'error',
      from: { path: anyOf([SIM]) },
      to: { path: '^src/', pathNot: anyOf([SIM, ...Object.values(ground)]) },
    },
    {
      name: 'queue-pure',
      comment: 'the queue model is pure: no package, no Node module (no I/O), nothing of src/',
      severity: 'error',
      from: { path: anyOf([FLOORS[0].queue]) },
      to: { pathNot: anyOf([FLOORS[0].queue]) },
    },
    {
      name: 'not-to-tests',
      comment: 'the monitor never imports its tests, benches or scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'no-circular',
      comment: 'an import cycle makes two modules one: neither can be read or tested alone',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'a module nothing imports and that imports nothing is dead or forgotten',
      severity: 'error',
      from: { orphan: true, pathNot: '\\.d\\.ts$' },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to no file',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports are dependencies of the design too (poll/ once reached metrics/ by one)
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // .js specifiers name the .ts sources (NodeNext); the "source" condition as in tsconfig
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};
