# Coroutines (asyncio) and, where the interpreter has them, subinterpreters:
# check.py wants the coroutine's line as a site and the program unharmed.
import asyncio


async def work(i):
    await asyncio.sleep(0)
    return [str(j) * 2 for j in range(2000)]  # SITE coroutine


async def main():
    return await asyncio.gather(*(work(i) for i in range(20)))


done = asyncio.run(main())
try:
    import _xxsubinterpreters as interpreters
except ImportError:
    try:
        import _interpreters as interpreters
    except ImportError:
        interpreters = None
if interpreters:
    sub = interpreters.create()
    interpreters.run_string(sub, "import json\njson.dumps([str(i) for i in range(10000)])")
    interpreters.destroy(sub)
print("done", len(done))
