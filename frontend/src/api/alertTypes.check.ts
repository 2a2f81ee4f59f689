// Compile-time check (vue-tsc, no runtime code): the hand-written alert types
// of alertTypes.ts agree with the ones generated from api/openapi.yaml, so a
// change of the schema breaks the build until both agree. Answers must fit
// what the app reads; requests what the API takes.
import type { components } from './schema'
import type * as A from './alertTypes'

type S = components['schemas']
type Is<T extends true> = T
type Fits<From, To> = [From] extends [To] ? true : false

export type Checks = [
  Is<Fits<S['StoredRule'], A.Rule>>,
  Is<Fits<S['RulePage'], A.RulePage>>,
  Is<Fits<A.RuleInput, S['Rule']>>,
  Is<Fits<S['AlertInstancePage'], A.Cursored<A.AlertInstance>>>,
  Is<Fits<S['EpisodePage'], A.Cursored<A.Episode>>>,
  Is<Fits<S['PreviewAnswer'], A.PreviewAnswer>>,
  Is<Fits<A.PreviewRequest, S['PreviewRequest']>>,
  Is<Fits<S['AlertState'], A.RuleState>>,
  Is<Fits<A.RuleState, S['AlertState']>>,
  Is<Fits<S['Matcher'], A.Matcher>>,
  // History entries always carry an id (the schema's Transition, shared with the
  // preview's transitions, has it optional): checked without it.
  Is<Fits<S['TransitionPage'], A.Cursored<Omit<A.HistoryEntry, 'id'>>>>,
]
