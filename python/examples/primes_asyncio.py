"""The prime check from asyncio (README, "Python")."""
import asyncio

import taskpool.aio


async def main():
    async with taskpool.aio.Client() as client:
        numbers = [str(n) for n in (222377, 3334, 454577, 565633)]
        verdicts = await asyncio.gather(*(client.apply("is_prime", n) for n in numbers))
        for n, verdict in zip(numbers, verdicts):
            print(f"{n}: {verdict.decode()}")
        try:
            await client.apply("is_prime", "not a number")
        except taskpool.TaskError as error:
            print(f"{error.code.name}: {error.message}")


asyncio.run(main())
