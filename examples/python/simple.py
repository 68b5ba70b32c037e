"""Two UltraDict objects on one dictionary: writes through either are seen
by both (a port of the original UltraDict's examples/simple.py)."""

from ultradict import UltraDict

COUNT = 100_000

if __name__ == "__main__":
    ultra = UltraDict()                  # A new dictionary with a random name.
    other = UltraDict(name=ultra.name)   # Attach to it by name.
    for i in range(COUNT // 2):
        ultra[i] = i
    other.update((i, i) for i in range(COUNT // 2, COUNT))
    print("Length: ", len(other), " == ", len(ultra), " == ", COUNT)
    other.close()
    ultra.close()                        # The creator removes it.
