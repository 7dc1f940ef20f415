/**
 * One resource's place in its state machine: states 0 to `last`, moved on by polls and explicit
 * advances, never by elapsed time, so a test can tell which answer each poll gets.
 */
export interface Stepper {
  readonly state: number
  /** Moves on through every state that answers no polls (share 0); call once the resource exists. */
  settle (): void
  /** Counts one poll: if the state has answered its share of polls, moves on first. */
  poll (): void
  /** Moves one state on now (or with 'end' to the last state), whatever the polls; false when already at the last state. */
  advance (to?: 'next' | 'end'): boolean
}

/**
 * `share(state)` is how many polls the state answers before the next poll moves the resource on:
 * 0 skips it, null holds it until an advance. It is read on each poll, so changed settings reach
 * resources already under way. `entered(state)` runs on every move, where a resource posts its
 * webhooks: they go out when the state changes, never on a timer.
 */
export function createStepper (last: number, share: (state: number) => number | null, entered: (state: number) => void): Stepper {
  let state = 0
  let answered = 0
  const moveOn = () => {
    state += 1
    answered = 0
    entered(state)
  }
  const settle = () => {
    for (;;) {
      const polls = share(state)
      if (state >= last || polls === null || answered < polls) return
      moveOn()
    }
  }
  return {
    get state () { return state },
    settle,
    poll () {
      settle()
      answered += 1
    },
    advance (to = 'next') {
      if (state >= last) return false
      const target = to === 'end' ? last : state + 1
      for (let from = state; from < target; from++) moveOn()
      return true
    }
  }
}
