// The design document's webhook receiver (seed 001, "Step 3: createWebhookHandler"), as written
// there: Express, express.json(), node transitions and errors pushed onto in-memory arrays, a
// per-execution summary on completion, 200 'OK'. Two adjustments, both in its favour or neutral:
// - the per-request console.log lines are left out, as our service logs nothing per request at
//   LOG_LEVEL=warn either;
// - event types are matched in both spellings, the document's (`flow:node:enter`) and the one the
//   service and the bench send (`flow.node.enter`), so the events it is sent are really stored.
// Run as a child process: `PORT=… node bench/peers/express-receiver.ts`.
import express, { type Request, type Response } from 'express'

interface Transition { conversationId: unknown, flowId: unknown, nodeId: unknown, nodeType: unknown, action: unknown, timestamp: unknown }
interface ErrorRecord { conversationId: unknown, flowId: unknown, nodeId: unknown, errorMessage: unknown, timestamp: unknown }

function createWebhookHandler (): express.Router {
  const router = express.Router()
  const transitionLog: Transition[] = []
  const errorPipeline: ErrorRecord[] = []
  const is = (eventType: unknown, name: string) => eventType === `flow:${name}` || eventType === `flow.${name.replaceAll(':', '.')}`

  router.post('/callback', express.json(), (req: Request, res: Response) => {
    const event = req.body
    const { eventType, flowExecutionId, flowId, nodeId, nodeType, timestamp } = event
    // The document keys events by conversationId; the service's events carry flowExecutionId.
    const conversationId = event.conversationId ?? flowExecutionId

    // Node transition tracking
    if (is(eventType, 'node:enter') || is(eventType, 'node:exit')) {
      transitionLog.push({ conversationId, flowId, nodeId, nodeType, action: eventType, timestamp })
    }

    // Error state detection pipeline
    if (is(eventType, 'error')) {
      errorPipeline.push({ conversationId, flowId, nodeId: event.nodeId || 'unknown', errorMessage: event.message, timestamp })
    }

    if (is(eventType, 'complete')) {
      const summary = {
        conversationId,
        flowId,
        totalTransitions: transitionLog.filter(t => t.conversationId === conversationId).length,
        completedAt: timestamp
      }
      void summary
    }

    res.status(200).send('OK')
  })

  // Bench-only: how many events it kept, to check that the load really reached it.
  router.get('/stored', (_req: Request, res: Response) => {
    res.json({ transitions: transitionLog.length, errors: errorPipeline.length })
  })

  return router
}

const app = express()
app.use('/webhooks', createWebhookHandler())
app.get('/healthz', (_req: Request, res: Response) => { res.json({ status: 'ok' }) })
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1')
process.once('SIGTERM', () => { server.close(() => process.exit(0)); server.closeAllConnections() })
