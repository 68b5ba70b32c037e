"""recurse=True: nested dicts are shared dictionaries too (a port of the
original's examples/nested.py)."""

from ultradict import UltraDict

if __name__ == "__main__":
    with UltraDict(recurse=True) as ultra:
        with UltraDict(name=ultra.name) as other:   # Takes recurse=True.
            ultra["nested"] = {"deeper": {0: 1}}
            other["nested"]["deeper"][0] += 1
            print(ultra, " == " if other == ultra else " != ", other)
