// The API's errors as its clients read them: `{"error": {"code", "message"}}`, or the status line when a
// proxy in between answered with something else. The console and the CLI both use this.

export interface ApiErrorBody {
  status: number;
  code: string;
  message: string;
}

export async function readApiError(res: Response): Promise<ApiErrorBody> {
  let code = `HTTP${res.status}`;
  let message = res.statusText || 'request failed';
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not JSON: the status line is all there is
  }
  return { status: res.status, code, message };
}
