/** Every error a caller can see carries a stable code; the HTTP status follows from it. */
export class AppError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly details?: unknown
  readonly headers?: Record<string, string>

  constructor (statusCode: number, code: string, message: string, details?: unknown, headers?: Record<string, string>) {
    super(message)
    this.name = 'AppError'
    this.statusCode = statusCode
    this.code = code
    this.details = details
    this.headers = headers
  }
}

export const badRequest = (code: string, message: string, details?: unknown) => new AppError(400, code, message, details)
export const notFound = (code: string, message: string) => new AppError(404, code, message)
export const conflict = (code: string, message: string, details?: unknown) => new AppError(409, code, message, details)
export const unprocessable = (code: string, message: string) => new AppError(422, code, message)
