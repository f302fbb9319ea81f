export default async function globalTeardown(): Promise<void> {
  const steps = globalThis.__paymentsTeardown ?? [];
  for (const step of steps.reverse()) {
    await step().catch((err: unknown) => console.error('teardown step failed:', err));
  }
}
