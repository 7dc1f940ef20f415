import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['node_modules', 'data', 'coverage', 'bench/results', '.cache'] }),
  {
    rules: {
      // Node runs our .ts files directly, so every relative import names its real extension.
      'import-x/extensions': 'off',
      // `void promise` marks a deliberately unawaited call.
      'no-void': ['error', { allowAsStatement: true }]
    }
  }
]
