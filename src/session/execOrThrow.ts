// A Redis MULTI's replies, or the first command error thrown (ioredis reports them per command).
import type { Redis } from "ioredis";

export async function execOrThrow(batch: ReturnType<Redis["multi"]>): Promise<unknown[]> {
  const replies = await batch.exec();
  if (replies === null) throw new Error("transaction aborted");
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}
