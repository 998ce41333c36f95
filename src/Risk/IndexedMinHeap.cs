namespace CrossMargin.Risk;

/// <summary>
/// Binary min-heap of account ids keyed by a long (ties by id) with a position table, so a key can be changed
/// or removed in O(log n) without allocating.
/// </summary>
public sealed class IndexedMinHeap
{
    private int[] _heap;
    private int[] _pos; // id -> index in _heap, -1 if absent
    private long[] _key; // by id
    private int _count;

    /// <summary>Creates a heap for ids 0..capacity-1.</summary>
    public IndexedMinHeap(int capacity)
    {
        _heap = new int[capacity];
        _pos = new int[capacity];
        _key = new long[capacity];
        Array.Fill(_pos, -1);
    }

    /// <summary>Number of ids in the heap.</summary>
    public int Count => _count;

    /// <summary>True when the id is present.</summary>
    public bool Contains(int id) => id < _pos.Length && _pos[id] >= 0;

    /// <summary>The key of a present id.</summary>
    public long KeyOf(int id) => _key[id];

    /// <summary>The id with the smallest key (Count must be &gt; 0).</summary>
    public int PeekMin() => _heap[0];

    /// <summary>Grows the id range.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity <= _pos.Length) return;
        int old = _pos.Length;
        Array.Resize(ref _heap, capacity);
        Array.Resize(ref _pos, capacity);
        Array.Resize(ref _key, capacity);
        Array.Fill(_pos, -1, old, capacity - old);
    }

    /// <summary>Inserts or updates an id's key.</summary>
    public void Set(int id, long key)
    {
        int i = _pos[id];
        if (i < 0)
        {
            _key[id] = key;
            i = _count++;
            _heap[i] = id;
            _pos[id] = i;
            Up(i);
            return;
        }
        long old = _key[id];
        _key[id] = key;
        if (key < old) Up(i);
        else if (key > old) Down(i);
    }

    /// <summary>Removes an id if present.</summary>
    public void Remove(int id)
    {
        int i = _pos[id];
        if (i < 0) return;
        int last = _heap[--_count];
        _pos[id] = -1;
        if (i == _count) return;
        _heap[i] = last;
        _pos[last] = i;
        Up(i);
        Down(_pos[last]);
    }

    /// <summary>Replaces the whole content from keys of ids 0..n-1 where present[id] (O(n) heapify).</summary>
    public void Rebuild(ReadOnlySpan<long> keys, ReadOnlySpan<bool> present)
    {
        _count = 0;
        for (int id = 0; id < keys.Length; id++)
        {
            if (!present[id])
            {
                _pos[id] = -1;
                continue;
            }
            _key[id] = keys[id];
            _heap[_count] = id;
            _pos[id] = _count++;
        }
        for (int i = (_count >> 1) - 1; i >= 0; i--) Down(i);
    }

    /// <summary>Writes every id with key &lt; bound into <paramref name="output"/> (unordered); returns how many were found.</summary>
    public int Below(long bound, List<int> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int before = output.Count;
        if (_count > 0) Collect(0, bound, output);
        return output.Count - before;
    }

    private void Collect(int i, long bound, List<int> output)
    {
        // iterative DFS over the heap array, pruned by the heap property
        Span<int> stack = stackalloc int[64];
        int sp = 0;
        stack[sp++] = i;
        while (sp > 0)
        {
            int n = stack[--sp];
            if (_key[_heap[n]] >= bound) continue;
            output.Add(_heap[n]);
            int l = 2 * n + 1;
            if (l < _count) stack[sp++] = l;
            if (l + 1 < _count) stack[sp++] = l + 1;
        }
    }

    private bool Less(int a, int b)
    {
        long ka = _key[a], kb = _key[b];
        return ka < kb || (ka == kb && a < b);
    }

    private void Up(int i)
    {
        int id = _heap[i];
        while (i > 0)
        {
            int p = (i - 1) >> 1;
            int pid = _heap[p];
            if (!Less(id, pid)) break;
            _heap[i] = pid;
            _pos[pid] = i;
            i = p;
        }
        _heap[i] = id;
        _pos[id] = i;
    }

    private void Down(int i)
    {
        int id = _heap[i];
        while (true)
        {
            int l = 2 * i + 1;
            if (l >= _count) break;
            int c = l + 1 < _count && Less(_heap[l + 1], _heap[l]) ? l + 1 : l;
            if (!Less(_heap[c], id)) break;
            _heap[i] = _heap[c];
            _pos[_heap[i]] = i;
            i = c;
        }
        _heap[i] = id;
        _pos[id] = i;
    }
}
